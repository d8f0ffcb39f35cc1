#pragma once
// The Kokkos functors behind steady_state_block.hpp. Each work item is one (gene, chunk of cells)
// pair that loops over its chunk in order and writes its own partial result; the host combines the
// partials (maxima, or integer sums, so the combination is exact in any order). That gives
// genes × chunks parallel items on a GPU and keeps every result independent of the chunking.
#include <Kokkos_Core.hpp>
#include <Kokkos_NumericTraits.hpp>
#include <cstdint>

#include "kokkos_math.hpp"
#include "steady_state_block.hpp"

namespace velofield::kernels {

// Cells per work item.
constexpr int64_t kCellChunk = 8192;

KOKKOS_INLINE_FUNCTION uint64_t order_key(double x) {
  if (x == 0) x = 0.0;   // -0.0 and 0.0 are the same value
  union {
    double d;
    uint64_t u;
  } bits;
  bits.d = x;
  return (bits.u >> 63) ? ~bits.u : (bits.u | 0x8000000000000000ULL);
}

// Adds v = term · scale (|v| < 2^59) to a two-int64 fixed-point sum: hi gets floor(v / 2^30), lo the
// remainder, so each half stays below 2^62 for up to 2^32 terms.
KOKKOS_INLINE_FUNCTION void fixed_point_add(int64_t* acc, double term, double scale) {
  const int64_t v = static_cast<int64_t>(term * scale);
  acc[0] += v >> 30;
  acc[1] += v & ((int64_t{1} << 30) - 1);
}

template <class Mem>
struct ChunkedGenes {
  int64_t cells = 0, chunks = 1;
  KOKKOS_INLINE_FUNCTION int64_t gene(int64_t item) const { return item / chunks; }
  KOKKOS_INLINE_FUNCTION int64_t begin(int64_t item) const { return (item % chunks) * kCellChunk; }
  KOKKOS_INLINE_FUNCTION int64_t end(int64_t item) const {
    const int64_t e = begin(item) + kCellChunk;
    return e < cells ? e : cells;
  }
};

template <class Mem>
struct ScoresFunctor {
  ChunkedGenes<Mem> layout;
  Kokkos::View<const double*, Mem> s, u, norm_s, norm_u, scales;
  Kokkos::View<double*, Mem> q;
  Kokkos::View<int64_t*, Mem> partial;   // items × (2 kScoreTerms + 2): the sums, then negative and zero counts
  Kokkos::View<double*, Mem> extent;     // items × 2: smallest positive and largest score

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    const int64_t g = layout.gene(item), base = g * layout.cells;
    const double ns = norm_s(g), nu = norm_u(g);
    const double c0 = scales(g * kScoreTerms), c1 = scales(g * kScoreTerms + 1), c2 = scales(g * kScoreTerms + 2),
                 c3 = scales(g * kScoreTerms + 3);
    int64_t acc[2 * kScoreTerms] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t negative = 0, zero = 0;
    constexpr double inf = Kokkos::Experimental::infinity<double>::value;
    double min_positive = inf, max = -inf;
    for (int64_t i = layout.begin(item); i < layout.end(item); ++i) {
      const double vs = s(base + i), vu = u(base + i);
      // dynamo: s / max(s) + u / max(u), two divisions then one addition (no reciprocal: bit parity).
      const double x = vs / ns + vu / nu;
      q(base + i) = x;
      negative += x < 0;   // branch-free: the scores come in no useful order
      zero += x == 0;
      const double positive = x > 0 ? x : inf;
      min_positive = positive < min_positive ? positive : min_positive;
      max = x > max ? x : max;
      fixed_point_add(acc + 0, vu * vu, c0);
      fixed_point_add(acc + 2, vu * vs, c1);
      fixed_point_add(acc + 4, vs * vs, c2);
      fixed_point_add(acc + 6, vu, c3);
    }
    const int64_t w = 2 * kScoreTerms + 2;
    for (int k = 0; k < 2 * kScoreTerms; ++k) partial(item * w + k) = acc[k];
    partial(item * w + 2 * kScoreTerms) = negative;
    partial(item * w + 2 * kScoreTerms + 1) = zero;
    extent(item * 2) = min_positive;
    extent(item * 2 + 1) = max;
  }
};

// The bits a prefix of `bits` bits fixes, as a mask.
KOKKOS_INLINE_FUNCTION uint64_t prefix_mask(int bits) {
  return bits <= 0 ? uint64_t{0} : (bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits));
}

template <class Mem>
struct RadixHistogramFunctor {
  ChunkedGenes<Mem> layout;
  Kokkos::View<const double*, Mem> q;
  Kokkos::View<const uint64_t*, Mem> prefix;
  Kokkos::View<const int*, Mem> prefix_bits;
  Kokkos::View<int64_t*, Mem> partial;   // items × kRadixBins

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    const int64_t g = layout.gene(item), base = g * layout.cells;
    const int bits = prefix_bits(g);
    // Four interleaved copies of the histogram: runs of values in one bin do not wait on each
    // other's increments. Branch-free: a key outside the prefix adds 0.
    int64_t h[4][kRadixBins];
    for (int c = 0; c < 4; ++c)
      for (int b = 0; b < kRadixBins; ++b) h[c][b] = 0;
    if (bits >= 0 && bits < 64) {
      const uint64_t high_mask = prefix_mask(bits), want = prefix(g) & high_mask;
      const int width = 64 - bits < kRadixBits ? 64 - bits : kRadixBits, shift = 64 - bits - width;
      const uint64_t digit = (uint64_t{1} << width) - 1;
      for (int64_t i = layout.begin(item); i < layout.end(item); ++i) {
        const uint64_t key = order_key(q(base + i));
        h[i & 3][(key >> shift) & digit] += (key & high_mask) == want;
      }
    }
    for (int b = 0; b < kRadixBins; ++b) partial(item * kRadixBins + b) = h[0][b] + h[1][b] + h[2][b] + h[3][b];
  }
};

template <class Mem>
struct BucketFunctor {
  ChunkedGenes<Mem> layout;
  Kokkos::View<const double*, Mem> q;
  Kokkos::View<const uint64_t*, Mem> prefix;
  Kokkos::View<const int*, Mem> prefix_bits;
  Kokkos::View<uint64_t*, Mem> min_above;      // items
  Kokkos::View<const int64_t*, Mem> start;     // genes: where each gene's values go
  Kokkos::View<const int64_t*, Mem> wanted;    // genes: values to collect (0: none)
  Kokkos::View<int64_t*, Mem> cursor;          // genes: values written so far
  Kokkos::View<double*, Mem> values;
  bool fill = false;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    const int64_t g = layout.gene(item), base = g * layout.cells;
    const uint64_t high_mask = prefix_mask(prefix_bits(g)), want = prefix(g) & high_mask, last = want | ~high_mask;
    const bool collect = fill && wanted(g) > 0;
    uint64_t above = ~uint64_t{0};
    for (int64_t i = layout.begin(item); i < layout.end(item); ++i) {
      const double x = q(base + i);
      const uint64_t key = order_key(x);
      // The order within a gene does not matter (the caller selects in them): a counter per gene
      // lets every chunk write in the same pass.
      if (collect && (key & high_mask) == want) values(start(g) + Kokkos::atomic_fetch_add(&cursor(g), int64_t{1})) = x;
      const uint64_t candidate = key > last ? key : ~uint64_t{0};
      above = candidate < above ? candidate : above;
    }
    min_above(item) = above;
  }
};

template <class Mem>
struct ExtremeCellsFunctor {
  ChunkedGenes<Mem> layout;
  Kokkos::View<const double*, Mem> s, u, q;
  Kokkos::View<const ExtremeTails*, Mem> tails;
  Kokkos::View<const int64_t*, Mem> start;   // genes: where each gene's cells go
  Kokkos::View<int64_t*, Mem> cursor;        // genes: cells written so far
  Kokkos::View<int64_t*, Mem> cells_out;
  Kokkos::View<double*, Mem> s_out, u_out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    const int64_t g = layout.gene(item), base = g * layout.cells;
    const ExtremeTails t = tails(g);
    for (int64_t i = layout.begin(item); i < layout.end(item); ++i) {
      const double vq = q(base + i);
      if (!((t.use_lower && vq <= t.lower) || (t.use_upper && vq >= t.upper))) continue;
      const int64_t at = start(g) + Kokkos::atomic_fetch_add(&cursor(g), int64_t{1});
      cells_out(at) = i;
      s_out(at) = s(base + i);
      u_out(at) = u(base + i);
    }
  }
};

// Work items: (gene, chunk of its extreme cells).
template <class Mem>
struct FitSumsFunctor {
  Kokkos::View<const int64_t*, Mem> offsets;
  int64_t chunks = 1;
  Kokkos::View<const double*, Mem> s, u, ss, us;
  Kokkos::View<const FitGeneParams*, Mem> params;
  int pass = 0;
  Kokkos::View<int64_t*, Mem> partial;   // items × kFitSumWidth

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t item) const {
    const int64_t g = item / chunks, c = item % chunks;
    const int64_t first = offsets(g) + c * kCellChunk;
    const int64_t last = first + kCellChunk < offsets(g + 1) ? first + kCellChunk : offsets(g + 1);
    const FitGeneParams& p = params(g);
    int64_t acc[kFitSumWidth];
    for (int k = 0; k < kFitSumWidth; ++k) acc[k] = 0;
    const FitPass kind = static_cast<FitPass>(pass);
    for (int64_t i = first; i < last; ++i) {
      const double vs = s(i), vu = u(i);
      if (kind == FitPass::ols_moments) {
        fixed_point_add(acc + 0, vu * vs, p.scale[0]);
        fixed_point_add(acc + 2, vs * vs, p.scale[1]);
        continue;
      }
      const double y2 = vu + 2 * us(i), x2 = 2 * ss(i) - vs;
      if (kind == FitPass::gmm_moments) {
        fixed_point_add(acc + 0, vu * vs, p.scale[0]);
        fixed_point_add(acc + 2, vs * vs, p.scale[1]);
        fixed_point_add(acc + 4, y2 * x2, p.scale[2]);
        fixed_point_add(acc + 6, x2 * x2, p.scale[3]);
        fixed_point_add(acc + 8, vu, p.scale[4]);
        fixed_point_add(acc + 10, vs, p.scale[5]);
        fixed_point_add(acc + 12, y2, p.scale[6]);
        fixed_point_add(acc + 14, x2, p.scale[7]);
      } else {   // residual_spread
        const double d1 = (vu - p.k1 * vs) - p.c1, d2 = (y2 - p.k2 * x2) - p.c2;
        fixed_point_add(acc + 0, d1 * d1, p.scale[0]);
        fixed_point_add(acc + 2, d2 * d2, p.scale[1]);
      }
    }
    for (int k = 0; k < kFitSumWidth; ++k) partial(item * kFitSumWidth + k) = acc[k];
  }
};

}  // namespace velofield::kernels
