#pragma once
// The Kokkos functor behind moment_smoothing(): one thread per output row, the inner loop over
// the columns of the neighbour's row (contiguous, vectorised on CPUs).
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "moment_smoothing.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct MomentSmoothingFunctor {
  using Dense = Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace>;
  using Out = Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace>;
  Kokkos::View<const int64_t*, MemorySpace> indptr;
  Kokkos::View<const int64_t*, MemorySpace> cols;
  Kokkos::View<const double*, MemorySpace> weights;
  Dense u, s;
  Out m_u, m_s, m_uu, m_us, m_ss;
  bool second = true;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t width = static_cast<int64_t>(u.extent(1));
    for (int64_t c = 0; c < width; ++c) {
      m_u(i, c) = 0;
      m_s(i, c) = 0;
      if (second) {
        m_uu(i, c) = 0;
        m_us(i, c) = 0;
        m_ss(i, c) = 0;
      }
    }
    for (int64_t k = indptr(i); k < indptr(i + 1); ++k) {
      const int64_t j = cols(k);
      const double w = weights(k);
      for (int64_t c = 0; c < width; ++c) {
        const double uj = u(j, c), sj = s(j, c);
        m_u(i, c) += w * uj;
        m_s(i, c) += w * sj;
      }
      if (!second) continue;
      for (int64_t c = 0; c < width; ++c) {
        const double uj = u(j, c), sj = s(j, c);
        m_uu(i, c) += w * (uj * uj);
        m_us(i, c) += w * (uj * sj);
        m_ss(i, c) += w * (sj * sj);
      }
    }
  }
};

}  // namespace velofield::kernels
