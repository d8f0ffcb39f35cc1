#pragma once
// The Kokkos functors behind rkhs_field.hpp: one thread per point, accumulating straight into the
// point's output row (no scratch memory, so any dim works on any backend).
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kokkos_math.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct RkhsFieldView {
  Kokkos::View<const double*, MemorySpace> ctrl, coef;
  int64_t centres = 0, dim = 0;
  double beta = 0;

  // k_m(x) for the point whose coordinates start at x(offset).
  KOKKOS_INLINE_FUNCTION double kernel(const Kokkos::View<const double*, MemorySpace>& x, int64_t offset,
                                       int64_t m) const {
    double d2 = 0;
    for (int64_t q = 0; q < dim; ++q) {
      const double diff = x(offset + q) - ctrl(m * dim + q);
      d2 += diff * diff;
    }
    return kmath::exp(-beta * d2);
  }
};

template <class MemorySpace>
struct RkhsValuesFunctor {
  RkhsFieldView<MemorySpace> f;
  Kokkos::View<const double*, MemorySpace> x;
  Kokkos::View<double*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t d = f.dim;
    for (int64_t p = 0; p < d; ++p) out(i * d + p) = 0;
    for (int64_t m = 0; m < f.centres; ++m) {
      const double k = f.kernel(x, i * d, m);
      for (int64_t p = 0; p < d; ++p) out(i * d + p) += k * f.coef(m * d + p);
    }
  }
};

template <class MemorySpace>
struct RkhsJacobiansFunctor {
  RkhsFieldView<MemorySpace> f;
  Kokkos::View<const double*, MemorySpace> x;
  Kokkos::View<double*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t d = f.dim, base = i * d * d;
    for (int64_t e = 0; e < d * d; ++e) out(base + e) = 0;
    for (int64_t m = 0; m < f.centres; ++m) {
      const double k = f.kernel(x, i * d, m);
      for (int64_t p = 0; p < d; ++p) {
        const double kc = k * f.coef(m * d + p);
        for (int64_t q = 0; q < d; ++q) out(base + p * d + q) += kc * (x(i * d + q) - f.ctrl(m * d + q));
      }
    }
    for (int64_t e = 0; e < d * d; ++e) out(base + e) *= -2 * f.beta;
  }
};

template <class MemorySpace>
struct RkhsJacobianVectorFunctor {
  RkhsFieldView<MemorySpace> f;
  Kokkos::View<const double*, MemorySpace> x, v;
  Kokkos::View<double*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t d = f.dim;
    for (int64_t p = 0; p < d; ++p) out(i * d + p) = 0;
    for (int64_t m = 0; m < f.centres; ++m) {
      double d2 = 0, proj = 0;
      for (int64_t q = 0; q < d; ++q) {
        const double diff = x(i * d + q) - f.ctrl(m * d + q);
        d2 += diff * diff;
        proj += diff * v(i * d + q);
      }
      const double w = kmath::exp(-f.beta * d2) * proj;
      for (int64_t p = 0; p < d; ++p) out(i * d + p) += w * f.coef(m * d + p);
    }
    for (int64_t p = 0; p < d; ++p) out(i * d + p) *= -2 * f.beta;
  }
};

}  // namespace velofield::kernels
