// This machine's dense rates for the vectorfield benchmark (jobs/bench_vectorfield.sh): DGEMM
// (the flop floor SparseVFC's UᵀPU is measured against), the DSYRK over one cell chunk that
// SparseVFC runs, and the kernel-block builds (entries per second). Single-threaded BLAS: run with
// OPENBLAS_NUM_THREADS=1, one process per core, as the MPI runs do.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/lapack.hpp"
#include "gaussian_kernel_block.hpp"

namespace {

std::vector<double> filled(int64_t n, double scale) {
  std::vector<double> a(static_cast<size_t>(n));
  uint64_t s = 7;
  for (auto& v : a) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    v = scale * (static_cast<double>(s >> 11) * 0x1.0p-53 - 0.5);
  }
  return a;
}

void BM_Dgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto a = filled(n * n, 1), b = filled(n * n, 1);
  std::vector<double> c(static_cast<size_t>(n * n));
  for (auto _ : state) {
    velofield::blas::gemm_rowmajor(false, false, n, n, n, 1.0, a.data(), n, b.data(), n, 0.0, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Dgemm)->Arg(1000)->Arg(2000)->Unit(benchmark::kMillisecond);

// C (M × M) += Aᵀ A for one chunk of rows × M: the weighted SYRK of the M-step.
void BM_DsyrkChunk(benchmark::State& state) {
  const int64_t M = state.range(0), rows = state.range(1);
  auto a = filled(rows * M, 1);
  std::vector<double> c(static_cast<size_t>(M * M));
  for (auto _ : state) {
    velofield::blas::syrk_ata_upper_rowmajor(M, rows, 1.0, a.data(), M, 1.0, c.data(), M);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(1.0 * rows * M * (M + 1) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DsyrkChunk)->Args({500, 8388})->Args({2000, 2097})->Args({5000, 838})->Unit(benchmark::kMillisecond);

// U for 4096 cells × M control points: direct distances (2-D) and GEMM-expanded ones (30-D, the
// GEMM excluded here: the exponentials are the cost).
void BM_GaussianKernelBlock(benchmark::State& state) {
  const int64_t rows = 4096, M = state.range(0), dim = state.range(1);
  auto x = filled(rows * dim, 4), c = filled(M * dim, 4);
  std::vector<double> u(static_cast<size_t>(rows * M)), xs(static_cast<size_t>(rows), 1.0), cs(static_cast<size_t>(M), 1.0);
  for (auto _ : state) {
    if (dim < 8) {
      velofield::kernels::gaussian_kernel_block(rows, M, dim, x.data(), c.data(), 0.1, u.data());
    } else {
      std::fill(u.begin(), u.end(), 0.25);
      velofield::kernels::gaussian_kernel_from_inner_products(rows, M, xs.data(), cs.data(), 0.1, u.data());
    }
    benchmark::DoNotOptimize(u.data());
  }
  state.counters["Mentries"] = benchmark::Counter(1.0 * rows * M * state.iterations() / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GaussianKernelBlock)->Args({500, 2})->Args({500, 30})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
