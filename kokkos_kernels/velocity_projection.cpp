#include "velocity_projection_functor.hpp"

namespace velofield::kernels {

void velocity_projection(const ProjectionInput& in, bool correct_density, double* projected) {
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  const int64_t nnz = in.cells > 0 ? in.offsets[in.cells] : 0;
  Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_embedding(in.embedding, in.n_rows, in.dim);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_cell_row(in.cell_row, in.cells);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_offsets(in.offsets, in.cells + 1);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_neighbor(in.neighbor_row, nnz);
  Kokkos::View<const double*, Kokkos::HostSpace, Unmanaged> h_weights(in.weights, nnz);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_projected(projected, in.cells, in.dim);

  VelocityProjectionFunctor<Mem> f{Kokkos::create_mirror_view_and_copy(Mem(), h_embedding),
                                   Kokkos::create_mirror_view_and_copy(Mem(), h_cell_row),
                                   Kokkos::create_mirror_view_and_copy(Mem(), h_offsets),
                                   Kokkos::create_mirror_view_and_copy(Mem(), h_neighbor),
                                   Kokkos::create_mirror_view_and_copy(Mem(), h_weights),
                                   Kokkos::create_mirror_view(Mem(), h_projected),
                                   Kokkos::View<double**, Kokkos::LayoutRight, Mem>("velofield::unit_sum", in.cells, in.dim),
                                   correct_density};
  Kokkos::parallel_for("velofield::velocity_projection", Kokkos::RangePolicy<Exec>(0, in.cells), f);
  Kokkos::deep_copy(h_projected, f.projected);
}

}  // namespace velofield::kernels
