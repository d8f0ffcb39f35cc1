// The transition kernel of cell_velocities: 30 neighbours per cell, 1,000 transition genes in
// float (the expression layers' type), sqrt transform, pearson (dynamo's defaults); the velocity
// pass and the pair pass, launched as transition_similarity() launches them. Counted work per
// (cell, neighbour, gene): 8 flops (difference, root, shift, three sums); bytes: the neighbour's
// expression row gathered once per pair, the cell's own row and transformed velocity, the
// velocity pass's reads and writes, and one similarity per pair.
#include <type_traits>

#include "bench_support.hpp"
#include "transition_similarity_functor.hpp"

namespace velofield::kernels::bench {

namespace transition {
void run(benchmark::State& state, int64_t cells, int64_t neighbours, int64_t genes) {
  using Rows = Kokkos::View<float**, Kokkos::LayoutRight, Mem>;
  Rows x("tr x", cells, genes), v("tr v", cells, genes), halo("tr halo", 0, genes);
  fill_uniform(x, 31, 0, 5);
  fill_uniform(v, 32, -1, 1);
  const int64_t pairs = cells * neighbours;
  Kokkos::View<int64_t*, Mem> cell_row("tr cell_row", cells), offsets("tr offsets", cells + 1), nbr("tr nbr", pairs);
  Kokkos::parallel_for(
      "bench::transition_graph", Kokkos::RangePolicy<Exec>(0, cells + 1), KOKKOS_LAMBDA(const int64_t i) {
        offsets(i) = i * neighbours;
        if (i == cells) return;
        cell_row(i) = i;
        for (int64_t j = 0; j < neighbours; ++j)
          nbr(i * neighbours + j) = static_cast<int64_t>(uniform01(33, static_cast<uint64_t>(i * neighbours + j)) * static_cast<double>(cells));
      });
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> transformed("tr transformed", cells, genes);
  Kokkos::View<double*, Mem> norm("tr norm", cells), sum("tr sum", cells), similarity("tr similarity", pairs);
  const VelocityTransformFunctor<float, Mem> vt{x, v, cell_row, transformed, norm, sum, SimilarityTransform::sqrt,
                                                SimilarityMeasure::pearson};
  const SimilarityFunctor<float, Exec, SimilarityTransform::sqrt> f{x, halo, transformed, norm, sum, cell_row,
                                                                     offsets, nbr, similarity, SimilarityMeasure::pearson};
  const int vector_length = std::is_same<Mem, Kokkos::HostSpace>::value ? 1 : 32;
  const Kokkos::TeamPolicy<Exec> policy(static_cast<int>(cells), Kokkos::AUTO, vector_length);
  Kokkos::fence();
  for (auto _ : state) {
    Kokkos::parallel_for("velofield::transform_velocity", Kokkos::RangePolicy<Exec>(0, cells), vt);
    Kokkos::parallel_for("velofield::transition_similarity", policy, f);
    Kokkos::fence();
  }
  const double cg = static_cast<double>(cells * genes), pg = static_cast<double>(pairs) * static_cast<double>(genes);
  set_work(state, 8 * pg + 6 * cg,
           pg * sizeof(float) + cg * (2 * sizeof(float) + 3 * sizeof(double)) + cg * (sizeof(float) + sizeof(double)) +
               static_cast<double>(pairs) * 2 * sizeof(double));
}
}  // namespace transition

void register_transition_similarity(const Scale& scale) {
  const int64_t cells = scale.cells(), genes = scale.gpu ? 1000 : 200;
  benchmark::RegisterBenchmark("transition_similarity/k30_sqrt_pearson",
                               [=](benchmark::State& s) { transition::run(s, cells, 30, genes); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace velofield::kernels::bench
