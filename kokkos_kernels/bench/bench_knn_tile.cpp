// One kNN tile: every local query against one block of references (the unit the kNN stage
// repeats over the blocks of all ranks), PCA dimension 30, k = 30. Counted work: 3 flops (sub,
// mul, add) per query × reference × dimension; bytes: the queries, the references, the ids and
// the k-th distances read (what must cross memory at least once).
#include <limits>

#include "bench_support.hpp"
#include "knn_tile_functor.hpp"

namespace velofield::kernels::bench {

namespace knn {
void run(benchmark::State& state, int64_t n_queries, int64_t n_refs, int dim, int k) {
  using F = KnnTileFunctor<Mem>;
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> queries("knn queries", n_queries, dim), refs_t("knn refs_t", dim, n_refs);
  Kokkos::View<int64_t*, Mem> ids("knn ids", n_queries);
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> best("knn best", n_queries, k);
  Kokkos::View<int64_t**, Kokkos::LayoutRight, Mem> best_ids("knn best ids", n_queries, k);
  fill_uniform(queries, 11, 0, 1);
  fill_uniform(refs_t, 12, 0, 1);
  Kokkos::deep_copy(best, std::numeric_limits<double>::infinity());
  Kokkos::deep_copy(best_ids, int64_t{-1});
  // Query ids outside the reference block: no query meets itself.
  Kokkos::parallel_for("bench::knn_ids", Kokkos::RangePolicy<Exec>(0, n_queries), KOKKOS_LAMBDA(const int64_t i) { ids(i) = n_refs + i; });
  F f;
  f.queries = queries;
  f.query_ids = ids;
  f.refs_t = refs_t;
  f.ref_first = 0;
  f.k = k;
  f.best_dist2 = best;
  f.best_ids = best_ids;
  // One untimed pass fills the lists: the timed passes then see what every tile after the first
  // few sees, distances that rarely beat the k-th.
  knn_tile_launch<Exec>(f);   // the launch of knn_tile_update()
  Kokkos::fence();
  for (auto _ : state) {
    knn_tile_launch<Exec>(f);
    Kokkos::fence();
  }
  const double nq = static_cast<double>(n_queries), nr = static_cast<double>(n_refs);
  set_work(state, 3 * nq * nr * dim, (nq * dim + nr * dim) * sizeof(double) + nq * (sizeof(int64_t) + 2 * sizeof(double)));
}
}  // namespace knn

void register_knn_tile(const Scale& scale) {
  const int64_t queries = scale.cells(), refs = scale.gpu ? 16384 : 1024;
  benchmark::RegisterBenchmark("knn_tile/dim30_k30", [=](benchmark::State& s) { knn::run(s, queries, refs, 30, 30); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace velofield::kernels::bench
