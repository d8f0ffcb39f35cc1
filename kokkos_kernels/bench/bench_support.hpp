#pragma once
// What every kernel micro-benchmark shares: the problem scale, the work counters the roofline
// table reads, and device-side random fills (a 1M-cell input is made where it is used, never
// staged through host memory). Benchmarks time the functors on device views, the way a stage
// that keeps its data on the device would call them; the entry points' host copies are the
// separate rate/h2d probe.
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <cstdint>

namespace velofield::kernels::bench {

using Exec = Kokkos::DefaultExecutionSpace;
using Mem = Exec::memory_space;

// "gpu": 1M cells, sizes that fill an H100 (about 20 GB at most per benchmark); "ci": sizes a
// Serial build on a shared 2-core machine runs in seconds.
struct Scale {
  bool gpu = false;
  int64_t cells() const { return gpu ? int64_t{1} << 20 : 4096; }
};

void register_rate_probes(const Scale& scale);
void register_knn_tile(const Scale& scale);
void register_gaussian_kernel_block(const Scale& scale);
void register_transition_similarity(const Scale& scale);
void register_moment_smoothing(const Scale& scale);
void register_rkhs_field(const Scale& scale);

// Counters of one benchmark: floating-point operations and bytes moved per iteration, reported
// as rates (divided by wall time: every benchmark runs with UseRealTime and fences).
inline void set_work(benchmark::State& state, double flops, double bytes) {
  const double n = static_cast<double>(state.iterations());
  state.counters["FLOP/s"] = benchmark::Counter(flops * n, benchmark::Counter::kIsRate);
  state.counters["B/s"] = benchmark::Counter(bytes * n, benchmark::Counter::kIsRate);
}

// Stateless uniform [0, 1) by index (SplitMix64): the same inputs on every backend.
KOKKOS_INLINE_FUNCTION double uniform01(uint64_t seed, uint64_t i) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + i + 1;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
}

// Fills any rank-1 or LayoutRight rank-2 view with lo + (hi - lo) · uniform, in flat index order.
template <class View>
void fill_uniform(const View& v, uint64_t seed, double lo, double hi) {
  using T = typename View::non_const_value_type;
  T* p = v.data();
  Kokkos::parallel_for(
      "bench::fill_uniform", Kokkos::RangePolicy<Exec>(0, static_cast<int64_t>(v.span())),
      KOKKOS_LAMBDA(const int64_t i) { p[i] = static_cast<T>(lo + (hi - lo) * uniform01(seed, static_cast<uint64_t>(i))); });
  Kokkos::fence();
}

}  // namespace velofield::kernels::bench
