#include "moment_smoothing_functor.hpp"

namespace velofield::kernels {

void moment_smoothing(int64_t rows, const int64_t* indptr, const int64_t* cols, const double* weights,
                      int64_t n_source_rows, int64_t width, const double* u, const double* s, double* m_u,
                      double* m_s, double* m_uu, double* m_us, double* m_ss) {
  if (rows == 0 || width == 0) return;
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  using HostIn = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>;
  using HostOut = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>;
  const int64_t nnz = indptr[rows];
  const bool second = m_uu && m_us && m_ss;

  MomentSmoothingFunctor<Mem> f;
  f.indptr = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(indptr, rows + 1));
  f.cols = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(cols, nnz));
  f.weights = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const double*, Kokkos::HostSpace, Unmanaged>(weights, nnz));
  f.u = Kokkos::create_mirror_view_and_copy(Mem(), HostIn(u, n_source_rows, width));
  f.s = Kokkos::create_mirror_view_and_copy(Mem(), HostIn(s, n_source_rows, width));
  f.second = second;
  HostOut h_u(m_u, rows, width), h_s(m_s, rows, width);
  auto d_u = Kokkos::create_mirror_view(Mem(), h_u);
  auto d_s = Kokkos::create_mirror_view(Mem(), h_s);
  f.m_u = d_u;
  f.m_s = d_s;
  // Without second moments the three outputs stay empty views that the functor never touches.
  HostOut h_uu, h_us, h_ss;
  if (second) {
    h_uu = HostOut(m_uu, rows, width);
    h_us = HostOut(m_us, rows, width);
    h_ss = HostOut(m_ss, rows, width);
    f.m_uu = Kokkos::create_mirror_view(Mem(), h_uu);
    f.m_us = Kokkos::create_mirror_view(Mem(), h_us);
    f.m_ss = Kokkos::create_mirror_view(Mem(), h_ss);
  }
  Kokkos::parallel_for("velofield::moment_smoothing", Kokkos::RangePolicy<Exec>(0, rows), f);
  Kokkos::deep_copy(h_u, d_u);
  Kokkos::deep_copy(h_s, d_s);
  if (second) {
    Kokkos::deep_copy(h_uu, f.m_uu);
    Kokkos::deep_copy(h_us, f.m_us);
    Kokkos::deep_copy(h_ss, f.m_ss);
  }
}

}  // namespace velofield::kernels
