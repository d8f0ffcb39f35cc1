#include "umap_epoch_functor.hpp"

namespace velofield::kernels {

void umap_epoch(int64_t rows, const int64_t* indptr, const int64_t* tails, const double* epochs_per_sample,
                double* epoch_of_next_sample, double* epoch_of_next_negative_sample, const float* snapshot,
                float* embedding, const UmapEpochParams& params) {
  if (rows == 0) return;
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  const int64_t nnz = indptr[rows];
  UmapEpochFunctor<Mem> f;
  f.p = params;
  f.indptr = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(indptr, rows + 1));
  f.tails = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(tails, nnz));
  f.epochs_per_sample =
      Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const double*, Kokkos::HostSpace, Unmanaged>(epochs_per_sample, nnz));
  Kokkos::View<double*, Kokkos::HostSpace, Unmanaged> h_next(epoch_of_next_sample, nnz), h_neg(epoch_of_next_negative_sample, nnz);
  auto d_next = Kokkos::create_mirror_view_and_copy(Mem(), h_next);
  auto d_neg = Kokkos::create_mirror_view_and_copy(Mem(), h_neg);
  f.next_sample = d_next;
  f.next_negative = d_neg;
  f.snapshot = Kokkos::create_mirror_view_and_copy(
      Mem(), Kokkos::View<const float**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>(snapshot, params.n_vertices, params.dim));
  Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_emb(embedding, rows, params.dim);
  auto d_emb = Kokkos::create_mirror_view_and_copy(Mem(), h_emb);
  f.embedding = d_emb;
  Kokkos::parallel_for("velofield::umap_epoch", Kokkos::RangePolicy<Exec>(0, rows), f);
  Kokkos::deep_copy(h_next, d_next);
  Kokkos::deep_copy(h_neg, d_neg);
  Kokkos::deep_copy(h_emb, d_emb);
}

uint64_t umap_random(uint64_t seed, int64_t epoch, int64_t cell, int64_t draw) {
  return umap_random_key(seed, epoch, cell, draw);
}

}  // namespace velofield::kernels
