#pragma once
// The Kokkos functors behind rkhs_block_calculus.hpp.
#include <Kokkos_Core.hpp>
#include <cstdint>

namespace velofield::kernels {

// One thread per row, a sequential sum over the centres (the same order on every backend, so the
// divergence of a cell does not depend on the chunk or the rank it is computed on).
template <class MemorySpace>
struct RkhsDivergenceFunctor {
  Kokkos::View<const double*, MemorySpace> u, t1, d;
  Kokkos::View<double*, MemorySpace> div;
  int64_t centres = 0;
  double beta = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    double s = 0;
    for (int64_t m = 0; m < centres; ++m) s += u(i * centres + m) * (t1(i * centres + m) - d(m));
    div(i) = -2 * beta * s;
  }
};

template <class MemorySpace>
struct RkhsAccelerationWeightsFunctor {
  Kokkos::View<const double*, MemorySpace> u, s;
  Kokkos::View<double*, MemorySpace> t2;
  int64_t centres = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const { t2(e) = u(e) * (s(e / centres) - t2(e)); }
};

}  // namespace velofield::kernels
