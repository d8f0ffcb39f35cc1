#include <limits>

#include "knn_tile_functor.hpp"

namespace velofield::kernels {

void knn_tile_update(int64_t n_queries, int dim, const double* queries, const int64_t* query_ids, int64_t n_refs,
                     const double* refs, int64_t ref_first, int k, double* best_dist2, int64_t* best_ids) {
  if (n_queries == 0 || n_refs == 0 || k <= 0) return;
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  using Host2 = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>;
  Host2 h_queries(queries, n_queries, dim);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_ids(query_ids, n_queries);
  // The transposed reference block is a fresh array anyway; it is filled on the host.
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> h_refs_t("knn refs_t", dim, n_refs);
  for (int64_t r = 0; r < n_refs; ++r)
    for (int c = 0; c < dim; ++c) h_refs_t(c, r) = refs[r * dim + c];
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_best(best_dist2, n_queries, k);
  Kokkos::View<int64_t**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_best_ids(best_ids, n_queries, k);

  KnnTileFunctor<Mem> f;
  f.queries = Kokkos::create_mirror_view_and_copy(Mem(), h_queries);
  f.query_ids = Kokkos::create_mirror_view_and_copy(Mem(), h_ids);
  f.refs_t = Kokkos::create_mirror_view_and_copy(Mem(), h_refs_t);
  f.ref_first = ref_first;
  f.k = k;
  auto d_best = Kokkos::create_mirror_view_and_copy(Mem(), h_best);
  auto d_best_ids = Kokkos::create_mirror_view_and_copy(Mem(), h_best_ids);
  f.best_dist2 = d_best;
  f.best_ids = d_best_ids;
  knn_tile_launch<Exec>(f);
  Kokkos::deep_copy(h_best, d_best);
  Kokkos::deep_copy(h_best_ids, d_best_ids);
}

void knn_lists_reset(int64_t n_queries, int k, double* best_dist2, int64_t* best_ids) {
  const int64_t n = n_queries * k;
  for (int64_t i = 0; i < n; ++i) {
    best_dist2[i] = std::numeric_limits<double>::infinity();
    best_ids[i] = -1;
  }
}

}  // namespace velofield::kernels
