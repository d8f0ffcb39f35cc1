#include "moment_smoothing_functor.hpp"

namespace velofield::kernels {

template <class Value>
void moment_smoothing(int64_t rows, const int64_t* indptr, const int64_t* cols, const double* weights,
                      int64_t n_source_rows, int64_t width, const Value* u, const Value* s, int64_t out_stride,
                      Value* m_u, Value* m_s, Value* m_uu, Value* m_us, Value* m_ss) {
  if (rows == 0 || width == 0) return;
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  using HostIn = Kokkos::View<const Value**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>;
  using HostOut = Kokkos::View<Value**, Kokkos::LayoutStride, Kokkos::HostSpace, Unmanaged>;
  const int64_t nnz = indptr[rows];
  const bool second = m_uu && m_us && m_ss;
  const Kokkos::LayoutStride out_layout(static_cast<size_t>(rows), static_cast<size_t>(out_stride), static_cast<size_t>(width), 1);

  MomentSmoothingFunctor<Value, Mem> f;
  f.indptr = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(indptr, rows + 1));
  f.cols = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged>(cols, nnz));
  f.weights = Kokkos::create_mirror_view_and_copy(Mem(), Kokkos::View<const double*, Kokkos::HostSpace, Unmanaged>(weights, nnz));
  f.u = Kokkos::create_mirror_view_and_copy(Mem(), HostIn(u, n_source_rows, width));
  f.s = Kokkos::create_mirror_view_and_copy(Mem(), HostIn(s, n_source_rows, width));
  f.second = second;
  // Outputs: written in place where the execution space can reach host memory; otherwise
  // computed in contiguous device arrays and scattered into the (strided) host rows after.
  Value* host_out[5] = {m_u, m_s, m_uu, m_us, m_ss};
  const int n_out = second ? 5 : 2;
  typename MomentSmoothingFunctor<Value, Mem>::Out* targets[5] = {&f.m_u, &f.m_s, &f.m_uu, &f.m_us, &f.m_ss};
  if constexpr (Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible) {
    for (int o = 0; o < n_out; ++o) *targets[o] = HostOut(host_out[o], out_layout);
    moment_smoothing_launch<Value, Exec>(f, rows, width);
    Kokkos::fence();
  } else {
    Kokkos::View<Value**, Kokkos::LayoutRight, Mem> device[5];
    for (int o = 0; o < n_out; ++o) {
      device[o] = Kokkos::View<Value**, Kokkos::LayoutRight, Mem>("moment_smoothing out", rows, width);
      *targets[o] = device[o];
    }
    moment_smoothing_launch<Value, Exec>(f, rows, width);
    Kokkos::fence();
    for (int o = 0; o < n_out; ++o) {
      auto back = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), device[o]);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t c = 0; c < width; ++c) host_out[o][i * out_stride + c] = back(i, c);
    }
  }
}

template void moment_smoothing<double>(int64_t, const int64_t*, const int64_t*, const double*, int64_t, int64_t, const double*,
                                       const double*, int64_t, double*, double*, double*, double*, double*);
template void moment_smoothing<float>(int64_t, const int64_t*, const int64_t*, const double*, int64_t, int64_t, const float*,
                                      const float*, int64_t, float*, float*, float*, float*, float*);

}  // namespace velofield::kernels
