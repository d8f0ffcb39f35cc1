#pragma once
// The Kokkos functor behind knn_tile_update(): one thread per query. References are read in
// chunks of kChunk from a transposed (dim × n_refs) copy, so the distance loop runs over
// consecutive references (vectorised on CPUs, coalesced on GPUs); the top-k insertion only runs
// for a reference that beats the current k-th distance, which after the first chunks is rare.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "knn_tile.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct KnnTileFunctor {
  static constexpr int kChunk = 64;
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> queries;   // n_queries × dim
  Kokkos::View<const int64_t*, MemorySpace> query_ids;
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> refs_t;    // dim × n_refs
  int64_t ref_first = 0;
  int k = 0;
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> best_dist2;      // n_queries × k
  Kokkos::View<int64_t**, Kokkos::LayoutRight, MemorySpace> best_ids;

  // (d, id) strictly before (d2, id2): smaller distance, equal distances by id.
  KOKKOS_INLINE_FUNCTION static bool before(double d, int64_t id, double d2, int64_t id2) {
    return d < d2 || (d == d2 && id < id2);
  }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t q) const {
    const int dim = static_cast<int>(queries.extent(1));
    const int64_t n_refs = static_cast<int64_t>(refs_t.extent(1));
    const int64_t self = query_ids(q);
    double worst = best_dist2(q, k - 1);
    int64_t worst_id = best_ids(q, k - 1);
    double d2[kChunk];
    for (int64_t r0 = 0; r0 < n_refs; r0 += kChunk) {
      const int n = static_cast<int>(n_refs - r0 < kChunk ? n_refs - r0 : kChunk);
      for (int r = 0; r < n; ++r) d2[r] = 0;
      for (int c = 0; c < dim; ++c) {
        const double qc = queries(q, c);
        for (int r = 0; r < n; ++r) {
          const double diff = qc - refs_t(c, r0 + r);
          d2[r] += diff * diff;
        }
      }
      for (int r = 0; r < n; ++r) {
        const int64_t id = ref_first + r0 + r;
        // An empty slot has id -1 and +inf distance: every finite candidate beats it.
        if (id == self || !(d2[r] < worst || (d2[r] == worst && (worst_id < 0 || id < worst_id)))) continue;
        int j = k - 1;
        while (j > 0 && (best_ids(q, j - 1) < 0 || before(d2[r], id, best_dist2(q, j - 1), best_ids(q, j - 1)))) {
          best_dist2(q, j) = best_dist2(q, j - 1);
          best_ids(q, j) = best_ids(q, j - 1);
          --j;
        }
        best_dist2(q, j) = d2[r];
        best_ids(q, j) = id;
        worst = best_dist2(q, k - 1);
        worst_id = best_ids(q, k - 1);
      }
    }
  }
};

}  // namespace velofield::kernels
