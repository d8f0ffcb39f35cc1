#pragma once
// The Kokkos functor behind velocity_projection(): one cell per index, its row entries in order.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kokkos_math.hpp"
#include "velocity_projection.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct VelocityProjectionFunctor {
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> embedding;
  Kokkos::View<const int64_t*, MemorySpace> cell_row, offsets, neighbor_row;
  Kokkos::View<const double*, MemorySpace> weights;
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> projected;
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> unit_sum;   // cells × dim scratch: Σ_j u_ij
  bool correct_density;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t dim = static_cast<int64_t>(embedding.extent(1));
    const int64_t ri = cell_row(i);
    for (int64_t d = 0; d < dim; ++d) projected(i, d) = unit_sum(i, d) = 0;
    double weight_sum = 0;
    for (int64_t k = offsets(i); k < offsets(i + 1); ++k) {
      const int64_t rj = neighbor_row(k);
      double sq = 0;
      for (int64_t d = 0; d < dim; ++d) {
        const double diff = embedding(rj, d) - embedding(ri, d);
        sq += diff * diff;
      }
      const double length = kmath::sqrt(sq);
      weight_sum += weights(k);
      if (!(length > 0)) continue;   // coinciding positions: dynamo's 0/0 → NaN → 0
      const double inverse = 1.0 / length;
      for (int64_t d = 0; d < dim; ++d) {
        const double u = (embedding(rj, d) - embedding(ri, d)) * inverse;
        projected(i, d) += weights(k) * u;
        unit_sum(i, d) += u;
      }
    }
    if (!correct_density) return;
    const int64_t count = offsets(i + 1) - offsets(i);
    const double mean = count > 0 ? weight_sum / static_cast<double>(count) : kmath::nan("");
    for (int64_t d = 0; d < dim; ++d) projected(i, d) -= mean * unit_sum(i, d);
  }
};

}  // namespace velofield::kernels
