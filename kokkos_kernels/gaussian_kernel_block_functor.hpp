#pragma once
// The Kokkos functors behind gaussian_kernel_block.hpp: one thread per matrix entry, the entry
// index flattened so that neighbouring threads share a row of x (coalesced on a GPU).
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kokkos_math.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct GaussianKernelBlockFunctor {
  Kokkos::View<const double*, MemorySpace> x, c;
  Kokkos::View<double*, MemorySpace> u;
  int64_t centres = 0, dim = 0;
  double beta = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const {
    const int64_t i = e / centres, m = e % centres;
    double d2 = 0;
    for (int64_t q = 0; q < dim; ++q) {
      const double diff = x(i * dim + q) - c(m * dim + q);
      d2 += diff * diff;
    }
    u(e) = kmath::exp(-beta * d2);
  }
};

template <class MemorySpace>
struct GaussianFromInnerProductsFunctor {
  Kokkos::View<const double*, MemorySpace> x_sq, c_sq;
  Kokkos::View<double*, MemorySpace> g;
  int64_t centres = 0;
  double beta = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const {
    const int64_t i = e / centres, m = e % centres;
    double d2 = x_sq(i) + c_sq(m) - 2 * g(e);
    // Rounding can push the squared distance of (nearly) coincident points below zero.
    if (d2 < 0) d2 = 0;
    g(e) = kmath::exp(-beta * d2);
  }
};

template <class MemorySpace>
struct ScaleRowsFunctor {
  Kokkos::View<const double*, MemorySpace> w, a;
  Kokkos::View<double*, MemorySpace> out;
  int64_t cols = 0, lda = 0, ldo = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const {
    const int64_t i = e / cols, j = e % cols;
    out(i * ldo + j) = w(i) * a(i * lda + j);
  }
};

}  // namespace velofield::kernels
