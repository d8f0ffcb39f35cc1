#include "velocity/distributed_percentile.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "steady_state_block.hpp"

namespace velofield {

namespace {

struct PercentilePosition {
  int64_t lower = 0;       // 0-based rank of the first order statistic
  bool at_top = false;     // h >= n - 1: numpy takes the maximum
  double fraction = 0;     // t = h - floor(h)
};

PercentilePosition position(int64_t n, double percent) {
  // numpy: q = true_divide(percent, 100); virtual index = (n - 1) * q.
  const double q = percent / 100.0;
  const double h = static_cast<double>(n - 1) * q;
  PercentilePosition p;
  if (h >= static_cast<double>(n - 1)) {
    p.at_top = true;
    p.lower = n - 1;
    return p;
  }
  const double below = std::floor(h);
  p.lower = static_cast<int64_t>(below);
  p.fraction = h - below;
  return p;
}

// Buckets of at most this many values (per gene, over all ranks) are gathered and finished by a
// sort instead of more radix rounds: fewer collectives, the same exact answer.
constexpr int64_t kGatherLimit = 2048;

// numpy's _lerp: the two-sided form keeps the result inside [a, b] and exact at both ends.
double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

}  // namespace

double numpy_percentile(std::vector<double> values, double percent) {
  if (values.empty()) throw Error("internal: percentile of no values");
  std::sort(values.begin(), values.end());
  const PercentilePosition p = position(static_cast<int64_t>(values.size()), percent);
  const double a = values[static_cast<size_t>(p.lower)];
  if (p.at_top) return a;
  return numpy_lerp(a, values[static_cast<size_t>(p.lower + 1)], p.fraction);
}

PercentileResult distributed_percentile(MPI_Comm comm, int64_t genes, int64_t cells, const double* values, int64_t n_total,
                                        double percent, const PercentileHint* hints) {
  using namespace kernels;
  if (n_total <= 0) throw Error("internal: percentile over no cells");
  const PercentilePosition pos = position(n_total, percent);
  const size_t G = static_cast<size_t>(genes);
  // Per gene: the bucket (keys sharing prefix's top `bits` bits) that holds the pos.lower-th
  // smallest value, its rank inside it, its size over all ranks and here, and this rank's values
  // below and above it.
  std::vector<uint64_t> prefix(G, 0);
  std::vector<int> bits(G, 0);
  std::vector<int64_t> target(G, pos.lower), bucket(G, n_total), local(G, cells), local_below(G, 0), local_above(G, 0);
  for (size_t g = 0; hints && g < G; ++g) {
    // Start from the common prefix of the smallest positive and the largest value when the order
    // statistic is positive: the zeros (unless they share it) and negatives lie below that bucket.
    const PercentileHint& h = hints[g];
    if (pos.lower < h.negative + h.zero || !(h.max > 0)) continue;
    const uint64_t lo = score_key(h.min_positive), hi = score_key(h.max);
    const int common = lo == hi ? 64 : __builtin_clzll(lo ^ hi);
    if (common == 0) continue;
    const uint64_t mask = common >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - common);
    const bool zeros_inside = (score_key(0.0) & mask) == (lo & mask);
    const int64_t below = h.negative + (zeros_inside ? 0 : h.zero);
    prefix[g] = lo & mask;
    bits[g] = common;
    target[g] -= below;
    bucket[g] = n_total - below;
    local_below[g] = h.local_negative + (zeros_inside ? 0 : h.local_zero);
    local[g] = cells - local_below[g];
  }
  // Radix rounds, 8 bits at a time, for the genes whose bucket is still too large to gather.
  std::vector<int64_t> histogram(static_cast<size_t>(genes * kRadixBins));
  std::vector<int> round_bits(G);
  for (;;) {
    bool any = false;
    for (size_t g = 0; g < G; ++g) {
      const bool active = bits[g] < 64 && bucket[g] > kGatherLimit;
      round_bits[g] = active ? bits[g] : -1;
      any = any || active;
    }
    if (!any) break;
    score_radix_histogram(genes, cells, values, prefix.data(), round_bits.data(), histogram.data());
    const std::vector<int64_t> mine = histogram;
    MPI_Allreduce(MPI_IN_PLACE, histogram.data(), static_cast<int>(histogram.size()), MPI_INT64_T, MPI_SUM, comm);
    for (size_t g = 0; g < G; ++g) {
      if (round_bits[g] < 0) continue;
      const int width = std::min(kRadixBits, 64 - bits[g]);
      const int64_t* h = histogram.data() + g * kRadixBins;
      const int64_t* m = mine.data() + g * kRadixBins;
      int64_t below = 0;
      int digit = 0;
      while (digit < (1 << width) - 1 && below + h[digit] <= target[g]) below += h[digit++];
      target[g] -= below;
      bucket[g] = h[digit];
      local[g] = m[digit];
      for (int d = 0; d < (1 << width); ++d) {
        if (d < digit) local_below[g] += m[d];
        if (d > digit) local_above[g] += m[d];
      }
      bits[g] += width;
      prefix[g] |= static_cast<uint64_t>(digit) << (64 - bits[g]);
    }
  }
  PercentileResult out;
  out.value.resize(G);
  out.local_at_or_above.resize(G);
  out.local_at_or_below.resize(G);
  if (genes == 0) return out;
  // One pass: every bucket's smallest key above it, and the values of the buckets not resolved to a
  // single key (at most kGatherLimit each over all ranks); every rank gathers them all.
  std::vector<int64_t> wanted(G);
  for (size_t g = 0; g < G; ++g) wanted[g] = bits[g] < 64 ? local[g] : 0;
  std::vector<double> mine(static_cast<size_t>(std::accumulate(wanted.begin(), wanted.end(), int64_t{0})));
  std::vector<uint64_t> above(G);
  score_bucket(genes, cells, values, prefix.data(), bits.data(), wanted.data(), above.data(), mine.data());
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  std::vector<uint64_t> meta(2 * G), all_meta(2 * G * static_cast<size_t>(ranks));
  for (size_t g = 0; g < G; ++g) {
    meta[2 * g] = static_cast<uint64_t>(wanted[g]);
    meta[2 * g + 1] = above[g];
  }
  MPI_Allgather(meta.data(), static_cast<int>(2 * G), MPI_UINT64_T, all_meta.data(), static_cast<int>(2 * G), MPI_UINT64_T, comm);
  std::vector<int> sizes(static_cast<size_t>(ranks)), displs(static_cast<size_t>(ranks), 0);
  for (int r = 0; r < ranks; ++r) {
    int64_t n = 0;
    for (size_t g = 0; g < G; ++g) n += static_cast<int64_t>(all_meta[static_cast<size_t>(r) * 2 * G + 2 * g]);
    sizes[static_cast<size_t>(r)] = static_cast<int>(n);
    if (r > 0) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + sizes[static_cast<size_t>(r - 1)];
  }
  std::vector<double> all(static_cast<size_t>(displs.back() + sizes.back()));
  MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(), sizes.data(), displs.data(), MPI_DOUBLE, comm);
  std::vector<size_t> at(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) at[static_cast<size_t>(r)] = static_cast<size_t>(displs[static_cast<size_t>(r)]);
  std::vector<double> candidates;
  size_t mine_at = 0;   // this rank's bucket values of gene g: mine[mine_at, mine_at + wanted[g])
  for (size_t g = 0; g < G; ++g) {
    candidates.clear();
    uint64_t next_above = ~uint64_t{0};
    for (int r = 0; r < ranks; ++r) {
      const uint64_t* m = &all_meta[static_cast<size_t>(r) * 2 * G + 2 * g];
      const size_t n = static_cast<size_t>(m[0]);
      candidates.insert(candidates.end(), all.begin() + static_cast<std::ptrdiff_t>(at[static_cast<size_t>(r)]),
                        all.begin() + static_cast<std::ptrdiff_t>(at[static_cast<size_t>(r)] + n));
      at[static_cast<size_t>(r)] += n;
      next_above = std::min(next_above, m[1]);
    }
    const size_t t = static_cast<size_t>(target[g]);
    double lower = 0, upper = 0;
    if (bits[g] == 64) {
      // The key is complete: the bucket holds copies of one value.
      lower = score_of_key(prefix[g]);
      upper = target[g] + 1 < bucket[g] ? lower : score_of_key(next_above);
    } else {
      // Only the two order statistics are needed: a partial selection, not a sort.
      std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(t), candidates.end());
      lower = candidates[t];
      upper = t + 1 < candidates.size() ? *std::min_element(candidates.begin() + static_cast<std::ptrdiff_t>(t + 1), candidates.end())
                                        : score_of_key(next_above);
    }
    const double value = pos.at_top ? lower : numpy_lerp(lower, upper, pos.fraction);
    out.value[g] = value;
    // This rank's values at or beyond the result: those outside the bucket, plus its own bucket values.
    int64_t ge = local_above[g], le = local_below[g];
    if (bits[g] == 64) {
      ge += lower >= value ? local[g] : 0;
      le += lower <= value ? local[g] : 0;
    } else {
      for (size_t k = mine_at; k < mine_at + static_cast<size_t>(wanted[g]); ++k) {
        ge += mine[k] >= value;
        le += mine[k] <= value;
      }
    }
    mine_at += static_cast<size_t>(wanted[g]);
    out.local_at_or_above[g] = ge;
    out.local_at_or_below[g] = le;
  }
  return out;
}

}  // namespace velofield
