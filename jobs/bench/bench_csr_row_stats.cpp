// Throughput of the count-validation kernel (one pass over a CSR block): GB/s of values+indptr.
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <vector>

#include "csr_row_stats.hpp"

static void BM_CsrRowStats(benchmark::State& state) {
  const int64_t rows = state.range(0), per_row = 200;
  std::vector<int64_t> indptr(static_cast<size_t>(rows + 1));
  std::vector<float> values(static_cast<size_t>(rows * per_row));
  for (int64_t r = 0; r <= rows; ++r) indptr[static_cast<size_t>(r)] = r * per_row;
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<float>(k % 7);
  std::vector<double> sums(static_cast<size_t>(rows));
  std::vector<int64_t> nnz(static_cast<size_t>(rows));
  for (auto _ : state) {
    auto a = velofield::kernels::csr_row_stats<float>(rows, indptr.data(), values.data(), sums.data(), nnz.data());
    benchmark::DoNotOptimize(a);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(values.size() * sizeof(float) + indptr.size() * 8));
}
BENCHMARK(BM_CsrRowStats)->Arg(10000)->Arg(100000);

int main(int argc, char** argv) {
  Kokkos::initialize(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  Kokkos::finalize();
  return 0;
}
