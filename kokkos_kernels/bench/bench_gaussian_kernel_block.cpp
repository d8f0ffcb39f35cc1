// SparseVFC's kernel block U(i, m) = exp(-beta ||x_i - c_m||²) between the cells and M = 2,000
// control points: the operand of the Gram UᵀPU (a BLAS SYRK after this kernel). PCA dimension 30
// (compute-heavy) and a 2-d embedding (bound by writing U). Counted work: 3 flops per dimension
// and 1 for the scaling per entry (the exponential not counted); bytes: x, c and U written.
#include <string>

#include "bench_support.hpp"
#include "gaussian_kernel_block_functor.hpp"

namespace velofield::kernels::bench {

namespace gaussian {
void run(benchmark::State& state, int64_t rows, int64_t centres, int64_t dim) {
  Kokkos::View<double*, Mem> x("gauss x", static_cast<size_t>(rows * dim)), c("gauss c", static_cast<size_t>(centres * dim));
  Kokkos::View<double*, Mem> u("gauss u", static_cast<size_t>(rows * centres));
  fill_uniform(x, 21, 0, 1);
  fill_uniform(c, 22, 0, 1);
  const GaussianKernelBlockFunctor<Mem> f{x, c, u, centres, dim, 0.5};
  for (auto _ : state) {
    gaussian_kernel_block_launch<Exec>(f, rows);
    Kokkos::fence();
  }
  const double entries = static_cast<double>(rows) * static_cast<double>(centres);
  set_work(state, entries * (3.0 * static_cast<double>(dim) + 1),
           (entries + static_cast<double>((rows + centres) * dim)) * sizeof(double));
}
}  // namespace gaussian

void register_gaussian_kernel_block(const Scale& scale) {
  // 1M × 2,000 doubles is 16 GB: one block for the whole GPU; a chunk of 4,096 cells in CI.
  const int64_t rows = scale.cells(), centres = scale.gpu ? 2000 : 500;
  for (int64_t dim : {int64_t{30}, int64_t{2}}) {
    const std::string name = "gaussian_kernel_block/M" + std::to_string(centres) + "_dim" + std::to_string(dim);
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { gaussian::run(s, rows, centres, dim); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace velofield::kernels::bench
