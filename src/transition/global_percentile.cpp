#include "transition/global_percentile.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace velofield {

namespace {

// Order-preserving: a < b as doubles ⇔ key(a) < key(b) as unsigned integers.
uint64_t key_of(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u >> 63) ? ~u : (u | (uint64_t(1) << 63));
}
double value_of(uint64_t k) {
  const uint64_t u = (k >> 63) ? (k & ~(uint64_t(1) << 63)) : ~k;
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

}  // namespace

double global_percentile(const std::vector<double>& local, int64_t total, double percent, MPI_Comm comm) {
  std::vector<uint64_t> keys(local.size());
  for (size_t i = 0; i < local.size(); ++i) keys[i] = key_of(local[i]);
  std::sort(keys.begin(), keys.end());
  const double h = static_cast<double>(total - 1) * (percent / 100.0);
  const int64_t below = std::min<int64_t>(static_cast<int64_t>(std::floor(h)), total - 1);
  const int64_t ranks[2] = {below, std::min(below + 1, total - 1)};   // 0-based order statistics
  // For each target, the answer lies in [lo, hi] (keys); split it 256 ways per round.
  constexpr int kWays = 256;
  uint64_t lo[2] = {0, 0}, hi[2] = {~uint64_t(0), ~uint64_t(0)};
  std::vector<int64_t> counts(2 * (kWays - 1));
  auto pivot = [&](int t, int j) {   // lo + span·j/256 without overflow
    const uint64_t span = hi[t] - lo[t];
    return lo[t] + (span / kWays) * static_cast<uint64_t>(j) + ((span % kWays) * static_cast<uint64_t>(j)) / kWays;
  };
  while (lo[0] < hi[0] || lo[1] < hi[1]) {   // the same on every rank: the counts are global
    for (int t = 0; t < 2; ++t)
      for (int j = 1; j < kWays; ++j)
        counts[static_cast<size_t>(t * (kWays - 1) + j - 1)] =
            std::upper_bound(keys.begin(), keys.end(), pivot(t, j)) - keys.begin();
    MPI_Allreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(counts.size()), MPI_INT64_T, MPI_SUM, comm);
    for (int t = 0; t < 2; ++t) {
      if (lo[t] == hi[t]) continue;
      // The first pivot with more than `ranks[t]` keys at or below it bounds the answer above.
      int j = 1;
      while (j < kWays && counts[static_cast<size_t>(t * (kWays - 1) + j - 1)] <= ranks[t]) ++j;
      const uint64_t new_lo = j > 1 ? pivot(t, j - 1) + 1 : lo[t];
      const uint64_t new_hi = j < kWays ? pivot(t, j) : hi[t];
      lo[t] = new_lo;
      hi[t] = new_hi;
    }
  }
  const double a = value_of(lo[0]), b = value_of(lo[1]);
  const double t = h - static_cast<double>(below), diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

}  // namespace velofield
