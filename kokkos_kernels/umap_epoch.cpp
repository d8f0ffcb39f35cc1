#include "umap_epoch_functor.hpp"

namespace velofield::kernels {

struct UmapEpochs::Impl {
  using Mem = Kokkos::DefaultExecutionSpace::memory_space;
  int64_t rows = 0;
  double negative_sample_rate = 5;
  UmapEpochFunctor<Mem> f;
};

UmapEpochs::UmapEpochs(int64_t rows, const int64_t* indptr, const int64_t* tails, const double* epochs_per_sample,
                       double negative_sample_rate)
    : impl_(new Impl) {
  using Mem = Impl::Mem;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  const int64_t nnz = indptr[rows];
  impl_->rows = rows;
  impl_->negative_sample_rate = negative_sample_rate;
  auto& f = impl_->f;
  f.indptr = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(indptr, rows + 1));
  f.tails = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(tails, nnz));
  // UMAP starts both schedules one period in: an edge of period e is first sampled at epoch e,
  // and its first negative samples are drawn after e / negative_sample_rate epochs.
  Kokkos::View<double*, Kokkos::HostSpace> eps("umap eps", nnz), next("umap next", nnz), neg("umap next neg", nnz);
  for (int64_t e = 0; e < nnz; ++e) {
    eps(e) = epochs_per_sample[e];
    next(e) = epochs_per_sample[e];
    neg(e) = epochs_per_sample[e] / negative_sample_rate;
  }
  f.epochs_per_sample = Kokkos::create_mirror_view_and_copy(Mem(), eps);
  f.next_sample = Kokkos::create_mirror_view_and_copy(Mem(), next);
  f.next_negative = Kokkos::create_mirror_view_and_copy(Mem(), neg);
}

UmapEpochs::~UmapEpochs() { delete impl_; }

void UmapEpochs::run(const UmapEpochParams& params, const float* snapshot, float* embedding) {
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Impl::Mem;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  auto& f = impl_->f;
  const int64_t rows = impl_->rows;
  if (rows == 0) return;
  f.p = params;
  f.negative_sample_rate = impl_->negative_sample_rate;
  f.snapshot = Kokkos::create_mirror_view_and_copy(
      Mem(), Kokkos::View<const float**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>(snapshot, params.n_vertices, params.dim));
  Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_emb(embedding, rows, params.dim);
  auto d_emb = Kokkos::create_mirror_view_and_copy(Mem(), h_emb);
  f.embedding = d_emb;
  Kokkos::parallel_for("velofield::umap_epoch", Kokkos::RangePolicy<Exec>(0, rows), f);
  Kokkos::deep_copy(h_emb, d_emb);
}

uint64_t umap_random(uint64_t seed, int64_t epoch, int64_t cell, int64_t draw) {
  return umap_random_key(seed, epoch, cell, draw);
}

}  // namespace velofield::kernels
