#pragma once
// The Kokkos functor behind knn_tile_update(): one thread per kQueries queries. References are
// read in chunks of kChunk from a transposed (dim × n_refs) copy, so the distance loop runs over
// consecutive references (vectorised on CPUs, coalesced on GPUs); the top-k insertion only runs
// for a reference that beats the current k-th distance, which after the first chunks is rare.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kernel_path.hpp"
#include "knn_tile.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct KnnTileFunctor {
  static constexpr int kChunk = 64;
  static constexpr int kQueries = 4;
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

  // Inserts reference `id` at squared distance d into query q's list when it beats the k-th.
  KOKKOS_INLINE_FUNCTION void insert(const int64_t q, const double d, const int64_t id) const {
    const double worst = best_dist2(q, k - 1);
    const int64_t worst_id = best_ids(q, k - 1);
    // An empty slot has id -1 and +inf distance: every finite candidate beats it.
    if (!(d < worst || (d == worst && (worst_id < 0 || id < worst_id)))) return;
    int j = k - 1;
    while (j > 0 && (best_ids(q, j - 1) < 0 || before(d, id, best_dist2(q, j - 1), best_ids(q, j - 1)))) {
      best_dist2(q, j) = best_dist2(q, j - 1);
      best_ids(q, j) = best_ids(q, j - 1);
      --j;
    }
    best_dist2(q, j) = d;
    best_ids(q, j) = id;
  }

  // Work item g: queries kQueries·g ... (a GEMM-style register block: each reference value read
  // from memory serves kQueries distance sums).
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t g) const {
    const int dim = static_cast<int>(queries.extent(1));
    const int64_t n_queries = static_cast<int64_t>(queries.extent(0));
    const int64_t n_refs = static_cast<int64_t>(refs_t.extent(1));
    const int64_t q0 = g * kQueries;
    const int nq = static_cast<int>(n_queries - q0 < kQueries ? n_queries - q0 : kQueries);
    double worst[kQueries];
    for (int j = 0; j < kQueries; ++j) worst[j] = j < nq ? best_dist2(q0 + j, k - 1) : 0.0;
    double d2[kQueries][kChunk];
    for (int64_t r0 = 0; r0 < n_refs; r0 += kChunk) {
      const int n = static_cast<int>(n_refs - r0 < kChunk ? n_refs - r0 : kChunk);
      for (int j = 0; j < kQueries; ++j)
        for (int r = 0; r < n; ++r) d2[j][r] = 0;
      for (int c = 0; c < dim; ++c) {
        double qc[kQueries];
        for (int j = 0; j < kQueries; ++j) qc[j] = j < nq ? queries(q0 + j, c) : 0.0;
        const double* rc = &refs_t(c, r0);
        for (int r = 0; r < n; ++r) {
          const double rv = rc[r];
          for (int j = 0; j < kQueries; ++j) {
            const double diff = qc[j] - rv;
            d2[j][r] += diff * diff;
          }
        }
      }
      for (int j = 0; j < nq; ++j) {
        const int64_t q = q0 + j;
        const int64_t self = query_ids(q);
        for (int r = 0; r < n; ++r) {
          // Only a distance not above the k-th can enter (an equal one may win on id: insert()
          // decides); an unfilled list has +inf there.
          if (d2[j][r] > worst[j]) continue;
          const int64_t id = ref_first + r0 + r;
          if (id == self) continue;
          insert(q, d2[j][r], id);
          worst[j] = best_dist2(q, k - 1);
        }
      }
    }
  }
};

// The GPU layout of the same update (dim <= MaxDim): one query per thread, its coordinates in
// registers; the references pass through team scratch memory kChunk at a time (one coalesced
// read of refs_t per team), where all threads read the same reference at once (a broadcast), and
// each thread computes kRefs distances per step from kRefs neighbouring scratch entries. The
// range kernel's per-thread 4 × 64 distance block was a 2 KB local-memory stack frame, and its
// reads of refs_t were strided by the thread's queries. Each query sees its references in the
// same order as in the range kernel, with the same sums, so the lists come out identical.
template <class ExecSpace, int MaxDim>
struct KnnTileTeamFunctor {
  using Mem = typename ExecSpace::memory_space;
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using Scratch = Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int kChunk = 128;
  static constexpr int kRefs = 8;
  // At the large bound the chunk is padded with zero rows to MaxDim coordinates and the loops run
  // over all MaxDim without a test per coordinate (a padded coordinate adds exactly 0).
  static constexpr bool kPad = MaxDim > 8;
  KnnTileFunctor<Mem> f;

  static size_t scratch_bytes(int dim) { return Scratch::shmem_size(static_cast<size_t>(kPad ? MaxDim : dim) * kChunk); }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const int dim = static_cast<int>(f.queries.extent(1));
    const int64_t n_queries = static_cast<int64_t>(f.queries.extent(0));
    const int64_t n_refs = static_cast<int64_t>(f.refs_t.extent(1));
    const int64_t q = static_cast<int64_t>(team.league_rank()) * team.team_size() + team.team_rank();
    const bool active = q < n_queries;
    Scratch tile(team.team_scratch(0), static_cast<size_t>(kPad ? MaxDim : dim) * kChunk);
    double* const sr = tile.data();   // dim (or MaxDim) × kChunk
    if (kPad)
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, (MaxDim - dim) * kChunk),
                           [&](const int e) { sr[dim * kChunk + e] = 0.0; });
    double qr[MaxDim];
    VELOFIELD_UNROLL
    for (int c = 0; c < MaxDim; ++c) qr[c] = active && c < dim ? f.queries(q, c) : 0.0;
    double worst = active ? f.best_dist2(q, f.k - 1) : 0.0;
    const int64_t self = active ? f.query_ids(q) : -1;
    for (int64_t r0 = 0; r0 < n_refs; r0 += kChunk) {
      const int n = static_cast<int>(n_refs - r0 < kChunk ? n_refs - r0 : kChunk);
      team.team_barrier();   // the previous chunk is no longer read
      for (int c = 0; c < dim; ++c)
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kChunk),
                             [&](const int r) { sr[c * kChunk + r] = r < n ? f.refs_t(c, r0 + r) : 0.0; });
      team.team_barrier();
      if (!active) continue;
      for (int r = 0; r < n; r += kRefs) {
        double d2[kRefs];
        VELOFIELD_UNROLL
        for (int j = 0; j < kRefs; ++j) d2[j] = 0;
        VELOFIELD_UNROLL
        for (int c = 0; c < MaxDim; ++c)
          if (kPad || c < dim) {
            const double* const rc = sr + c * kChunk + r;
            VELOFIELD_UNROLL
            for (int j = 0; j < kRefs; ++j) {
              const double diff = qr[c] - rc[j];
              d2[j] += diff * diff;
            }
          }
        VELOFIELD_UNROLL
        for (int j = 0; j < kRefs; ++j) {
          // As in the range kernel: only a distance not above the k-th can enter.
          if (r + j >= n || d2[j] > worst) continue;
          const int64_t id = f.ref_first + r0 + r + j;
          if (id == self) continue;
          f.insert(q, d2[j], id);
          worst = f.best_dist2(q, f.k - 1);
        }
      }
    }
  }
};

// One tile update on the path given (the team path needs dim <= 32 and takes the range path
// above that).
template <class ExecSpace>
void knn_tile_launch(const KnnTileFunctor<typename ExecSpace::memory_space>& f,
                     KernelPath path = default_kernel_path<ExecSpace>()) {
  using F = KnnTileFunctor<typename ExecSpace::memory_space>;
  const int dim = static_cast<int>(f.queries.extent(1));
  const int64_t n_queries = static_cast<int64_t>(f.queries.extent(0));
  if (path == KernelPath::team && dim <= 32) {
    const int threads = team_kernel_threads<ExecSpace>();
    Kokkos::TeamPolicy<ExecSpace> policy(static_cast<int>((n_queries + threads - 1) / threads), threads);
    if (dim <= 8) {
      using T = KnnTileTeamFunctor<ExecSpace, 8>;
      policy.set_scratch_size(0, Kokkos::PerTeam(T::scratch_bytes(dim)));
      Kokkos::parallel_for("velofield::knn_tile_update", policy, T{f});
    } else {
      using T = KnnTileTeamFunctor<ExecSpace, 32>;
      policy.set_scratch_size(0, Kokkos::PerTeam(T::scratch_bytes(dim)));
      Kokkos::parallel_for("velofield::knn_tile_update", policy, T{f});
    }
    return;
  }
  const int64_t groups = (n_queries + F::kQueries - 1) / F::kQueries;
  Kokkos::parallel_for("velofield::knn_tile_update", Kokkos::RangePolicy<ExecSpace>(0, groups), f);
}

}  // namespace velofield::kernels
