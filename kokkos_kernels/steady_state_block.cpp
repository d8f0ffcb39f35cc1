#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "steady_state_block_functors.hpp"

namespace velofield::kernels {

namespace {
using Exec = Kokkos::DefaultExecutionSpace;
using Mem = Exec::memory_space;
using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;

template <class T>
Kokkos::View<const T*, Kokkos::HostSpace, Unmanaged> host_in(const T* p, int64_t n) {
  return Kokkos::View<const T*, Kokkos::HostSpace, Unmanaged>(p, p ? n : 0);
}

// Device copies of host arrays (no copy when the default space is host-accessible).
template <class T>
auto to_device(const T* p, int64_t n) {
  return Kokkos::create_mirror_view_and_copy(Mem(), host_in(p, n));
}

ChunkedGenes<Mem> chunked(int64_t genes, int64_t cells, int64_t& items) {
  ChunkedGenes<Mem> c;
  c.cells = cells;
  c.chunks = cells > 0 ? (cells + kCellChunk - 1) / kCellChunk : 0;
  items = genes * c.chunks;
  return c;
}

template <class View>
auto to_host(const View& v) {
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
}
}  // namespace

uint64_t score_key(double x) { return order_key(x); }

double score_of_key(uint64_t key) {
  const uint64_t bits = (key >> 63) ? (key & 0x7fffffffffffffffULL) : ~key;
  double x = 0;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

void extreme_scores(const MomentBlock& b, const double* norm_s, const double* norm_u, const double* scales, double* q,
                    int64_t* sums, ScoreRange* ranges) {
  const int64_t n = b.genes * b.cells;
  int64_t items = 0;
  ScoresFunctor<Mem> f;
  f.layout = chunked(b.genes, b.cells, items);
  f.s = to_device(b.s, n);
  f.u = to_device(b.u, n);
  f.norm_s = to_device(norm_s, b.genes);
  f.norm_u = to_device(norm_u, b.genes);
  f.scales = to_device(scales, b.genes * kScoreTerms);
  Kokkos::View<double*, Kokkos::HostSpace, Unmanaged> h_q(q, static_cast<size_t>(n));
  f.q = Kokkos::create_mirror_view(Mem(), h_q);
  const int64_t w = 2 * kScoreTerms + 2;
  f.partial = Kokkos::View<int64_t*, Mem>("score_sums", static_cast<size_t>(items * w));
  f.extent = Kokkos::View<double*, Mem>("score_extent", static_cast<size_t>(items * 2));
  Kokkos::parallel_for("velofield::extreme_scores", Kokkos::RangePolicy<Exec>(0, items), f);
  Kokkos::deep_copy(h_q, f.q);
  auto partial = to_host(f.partial);
  auto extent = to_host(f.extent);
  for (int64_t g = 0; g < b.genes; ++g) {
    int64_t* out = sums + g * 2 * kScoreTerms;
    for (int k = 0; k < 2 * kScoreTerms; ++k) out[k] = 0;
    ScoreRange& r = ranges[g];
    r = ScoreRange{};
    r.min_positive = std::numeric_limits<double>::infinity();
    r.max = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < f.layout.chunks; ++c) {
      const size_t item = static_cast<size_t>(g * f.layout.chunks + c);
      for (int k = 0; k < 2 * kScoreTerms; ++k) out[k] += partial(item * w + static_cast<size_t>(k));
      r.negative += partial(item * w + 2 * kScoreTerms);
      r.zero += partial(item * w + 2 * kScoreTerms + 1);
      r.min_positive = std::min(r.min_positive, extent(item * 2));
      r.max = std::max(r.max, extent(item * 2 + 1));
    }
  }
}

void score_radix_histogram(int64_t genes, int64_t cells, const double* q, const uint64_t* prefix, const int* prefix_bits,
                           int64_t* histogram) {
  int64_t items = 0;
  RadixHistogramFunctor<Mem> f;
  f.layout = chunked(genes, cells, items);
  f.q = to_device(q, genes * cells);
  f.prefix = to_device(prefix, genes);
  f.prefix_bits = to_device(prefix_bits, genes);
  f.partial = Kokkos::View<int64_t*, Mem>("radix", static_cast<size_t>(items * kRadixBins));
  Kokkos::parallel_for("velofield::score_radix_histogram", Kokkos::RangePolicy<Exec>(0, items), f);
  auto partial = to_host(f.partial);
  for (int64_t g = 0; g < genes; ++g) {
    int64_t* h = histogram + g * kRadixBins;
    for (int k = 0; k < kRadixBins; ++k) h[k] = 0;
    for (int64_t c = 0; c < f.layout.chunks; ++c) {
      const size_t item = static_cast<size_t>(g * f.layout.chunks + c);
      for (int k = 0; k < kRadixBins; ++k) h[k] += partial(item * kRadixBins + static_cast<size_t>(k));
    }
  }
}

void score_bucket(int64_t genes, int64_t cells, const double* q, const uint64_t* prefix, const int* prefix_bits,
                  const int64_t* counts, uint64_t* min_above, double* values) {
  int64_t items = 0;
  BucketFunctor<Mem> f;
  f.layout = chunked(genes, cells, items);
  f.q = to_device(q, genes * cells);
  f.prefix = to_device(prefix, genes);
  f.prefix_bits = to_device(prefix_bits, genes);
  f.min_above = Kokkos::View<uint64_t*, Mem>("bucket_min_above", static_cast<size_t>(items));
  int64_t total = 0;
  Kokkos::View<int64_t*, Kokkos::HostSpace> start("bucket_start", static_cast<size_t>(genes));
  if (values) {
    for (int64_t g = 0; g < genes; ++g) {
      start(static_cast<size_t>(g)) = total;
      total += counts[g];
    }
  }
  f.fill = values != nullptr && total > 0;
  Kokkos::View<double*, Kokkos::HostSpace, Unmanaged> h_values(values, static_cast<size_t>(f.fill ? total : 0));
  if (f.fill) {
    f.start = Kokkos::create_mirror_view_and_copy(Mem(), start);
    f.wanted = to_device(counts, genes);
    f.cursor = Kokkos::View<int64_t*, Mem>("bucket_cursor", static_cast<size_t>(genes));
    f.values = Kokkos::create_mirror_view(Mem(), h_values);
  }
  Kokkos::parallel_for("velofield::score_bucket", Kokkos::RangePolicy<Exec>(0, items), f);
  if (f.fill) Kokkos::deep_copy(h_values, f.values);
  auto above = to_host(f.min_above);
  for (int64_t g = 0; g < genes; ++g) {
    min_above[g] = ~uint64_t{0};
    for (int64_t c = 0; c < f.layout.chunks; ++c) min_above[g] = std::min(min_above[g], above(static_cast<size_t>(g * f.layout.chunks + c)));
  }
}

void extreme_cells(const MomentBlock& b, const double* q, const ExtremeTails* tails, const int64_t* counts, int64_t* cells_out,
                   double* s_out, double* u_out) {
  const int64_t n = b.genes * b.cells;
  int64_t items = 0, total = 0;
  ExtremeCellsFunctor<Mem> f;
  f.layout = chunked(b.genes, b.cells, items);
  Kokkos::View<int64_t*, Kokkos::HostSpace> start("extreme_start", static_cast<size_t>(b.genes));
  for (int64_t g = 0; g < b.genes; ++g) {
    start(static_cast<size_t>(g)) = total;
    total += counts[g];
  }
  if (total == 0) return;
  f.s = to_device(b.s, n);
  f.u = to_device(b.u, n);
  f.q = to_device(q, n);
  f.tails = to_device(tails, b.genes);
  f.start = Kokkos::create_mirror_view_and_copy(Mem(), start);
  f.cursor = Kokkos::View<int64_t*, Mem>("extreme_cursor", static_cast<size_t>(b.genes));
  Kokkos::View<int64_t*, Kokkos::HostSpace, Unmanaged> h_cells(cells_out, static_cast<size_t>(total));
  Kokkos::View<double*, Kokkos::HostSpace, Unmanaged> h_s(s_out, static_cast<size_t>(total)), h_u(u_out, static_cast<size_t>(total));
  f.cells_out = Kokkos::create_mirror_view(Mem(), h_cells);
  f.s_out = Kokkos::create_mirror_view(Mem(), h_s);
  f.u_out = Kokkos::create_mirror_view(Mem(), h_u);
  Kokkos::parallel_for("velofield::extreme_cells", Kokkos::RangePolicy<Exec>(0, items), f);
  Kokkos::deep_copy(h_cells, f.cells_out);
  Kokkos::deep_copy(h_s, f.s_out);
  Kokkos::deep_copy(h_u, f.u_out);
}

void steady_state_sums(const ExtremeBlock& b, FitPass pass, const FitGeneParams* params, int64_t* sums) {
  const int64_t total = b.genes > 0 ? b.offsets[b.genes] : 0;
  int64_t widest = 0;
  for (int64_t g = 0; g < b.genes; ++g) widest = std::max(widest, b.offsets[g + 1] - b.offsets[g]);
  FitSumsFunctor<Mem> f;
  f.chunks = std::max<int64_t>(1, (widest + kCellChunk - 1) / kCellChunk);
  const int64_t items = b.genes * f.chunks;
  f.offsets = to_device(b.offsets, b.genes + 1);
  f.s = to_device(b.s, total);
  f.u = to_device(b.u, total);
  // The deterministic fit has no second moments; its pass never reads them.
  f.ss = f.s;
  f.us = f.s;
  if (b.ss) f.ss = to_device(b.ss, total);
  if (b.us) f.us = to_device(b.us, total);
  f.params = to_device(params, b.genes);
  f.pass = static_cast<int>(pass);
  f.partial = Kokkos::View<int64_t*, Mem>("fit_sums", static_cast<size_t>(items * kFitSumWidth));
  Kokkos::parallel_for("velofield::steady_state_sums", Kokkos::RangePolicy<Exec>(0, items), f);
  auto partial = to_host(f.partial);
  for (int64_t g = 0; g < b.genes; ++g) {
    int64_t* out = sums + g * kFitSumWidth;
    for (int k = 0; k < kFitSumWidth; ++k) out[k] = 0;
    for (int64_t c = 0; c < f.chunks; ++c) {
      const size_t item = static_cast<size_t>(g * f.chunks + c);
      for (int k = 0; k < kFitSumWidth; ++k) out[k] += partial(item * kFitSumWidth + static_cast<size_t>(k));
    }
  }
}

int fixed_point_exponent(double bound) {
  if (!(bound > 0) || !std::isfinite(bound)) return 0;
  // bound < 2^(ilogb + 1), so bound < 2^(e - 1) with e = ilogb + 2.
  const int e = std::ilogb(bound) + 2;
  return std::max(-960, std::min(960, e));
}

double fixed_point_scale(int exponent) { return std::ldexp(1.0, 60 - exponent); }

double fixed_point_value(int64_t hi, int64_t lo, int exponent) {
  // Both halves are exact integers; this combination is the only rounding, the same on any rank count.
  const long double total = std::ldexp(static_cast<long double>(hi), 30) + static_cast<long double>(lo);
  return static_cast<double>(std::ldexp(total, exponent - 60));
}

}  // namespace velofield::kernels
