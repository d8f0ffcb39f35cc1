// The SpMM of the moments stage: W (30 neighbours plus the cell itself, uniform weights, as
// dynamo's moment matrix) times the unspliced and spliced layers, all five moments, 256 genes
// in float, launched as moment_smoothing() launches them. Counted work per
// (entry of W, gene): 8 flops (2 first-moment sums, 3 products and sums), 5 scalings per output;
// bytes: the neighbour rows gathered once per entry, the five outputs, the graph.
#include "bench_support.hpp"
#include "moment_smoothing_functor.hpp"

namespace velofield::kernels::bench {

namespace moments {
void run(benchmark::State& state, int64_t rows, int64_t neighbours, int64_t width) {
  using F = MomentSmoothingFunctor<float, Mem>;
  const int64_t per_row = neighbours + 1, nnz = rows * per_row;
  Kokkos::View<int64_t*, Mem> indptr("mom indptr", rows + 1), cols("mom cols", nnz);
  Kokkos::View<double*, Mem> weights("mom weights", nnz);
  Kokkos::parallel_for(
      "bench::moment_graph", Kokkos::RangePolicy<Exec>(0, rows + 1), KOKKOS_LAMBDA(const int64_t i) {
        indptr(i) = i * per_row;
        if (i == rows) return;
        cols(i * per_row) = i;
        weights(i * per_row) = 1.0 / static_cast<double>(per_row);
        for (int64_t j = 1; j < per_row; ++j) {
          cols(i * per_row + j) = static_cast<int64_t>(uniform01(41, static_cast<uint64_t>(i * per_row + j)) * static_cast<double>(rows));
          weights(i * per_row + j) = 1.0 / static_cast<double>(per_row);
        }
      });
  Kokkos::View<float**, Kokkos::LayoutRight, Mem> u("mom u", rows, width), s("mom s", rows, width);
  fill_uniform(u, 42, 0, 3);
  fill_uniform(s, 43, 0, 3);
  F f;
  f.indptr = indptr;
  f.cols = cols;
  f.weights = weights;
  f.u = u;
  f.s = s;
  Kokkos::View<float**, Kokkos::LayoutRight, Mem> out[5];
  typename F::Out* targets[5] = {&f.m_u, &f.m_s, &f.m_uu, &f.m_us, &f.m_ss};
  for (int o = 0; o < 5; ++o) {
    out[o] = Kokkos::View<float**, Kokkos::LayoutRight, Mem>("mom out", rows, width);
    *targets[o] = out[o];
  }
  f.second = true;
  Kokkos::fence();
  for (auto _ : state) {
    moment_smoothing_launch<float, Exec>(f, rows, width);
    Kokkos::fence();
  }
  const double ew = static_cast<double>(nnz) * static_cast<double>(width), rw = static_cast<double>(rows * width);
  set_work(state, 8 * ew + 5 * rw, ew * 2 * sizeof(float) + 5 * rw * sizeof(float) + static_cast<double>(nnz) * 16);
}
}  // namespace moments

void register_moment_smoothing(const Scale& scale) {
  const int64_t rows = scale.cells(), width = scale.gpu ? 256 : 128;
  benchmark::RegisterBenchmark("moment_smoothing/k30_float", [=](benchmark::State& s) { moments::run(s, rows, 30, width); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace velofield::kernels::bench
