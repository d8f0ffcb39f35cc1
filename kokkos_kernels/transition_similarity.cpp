#include <type_traits>

#include "transition_similarity_functor.hpp"

namespace velofield::kernels {

template <class Value>
void transition_similarity(const SimilarityInput<Value>& in, SimilarityTransform transform, SimilarityMeasure measure,
                           double* similarity) {
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  const int64_t nnz = in.cells > 0 ? in.offsets[in.cells] : 0;
  Kokkos::View<const Value**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_rows(in.rows, in.n_rows, in.genes);
  Kokkos::View<const Value**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_halo(in.halo, in.n_halo, in.genes);
  Kokkos::View<const Value**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged> h_velocity(in.velocity, in.cells, in.genes);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_cell_row(in.cell_row, in.cells);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_offsets(in.offsets, in.cells + 1);
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_neighbor(in.neighbor_row, nnz);
  Kokkos::View<double*, Kokkos::HostSpace, Unmanaged> h_similarity(similarity, nnz);

  auto rows = Kokkos::create_mirror_view_and_copy(Mem(), h_rows);
  auto halo = Kokkos::create_mirror_view_and_copy(Mem(), h_halo);
  auto velocity = Kokkos::create_mirror_view_and_copy(Mem(), h_velocity);
  auto cell_row = Kokkos::create_mirror_view_and_copy(Mem(), h_cell_row);
  auto offsets = Kokkos::create_mirror_view_and_copy(Mem(), h_offsets);
  auto neighbor = Kokkos::create_mirror_view_and_copy(Mem(), h_neighbor);
  auto out = Kokkos::create_mirror_view(Mem(), h_similarity);

  Kokkos::View<double**, Kokkos::LayoutRight, Mem> transformed("velofield::transformed_velocity", in.cells, in.genes);
  Kokkos::View<double*, Mem> norm("velofield::velocity_norm", in.cells), sum("velofield::velocity_sum", in.cells);
  VelocityTransformFunctor<Value, Mem> vt{rows, velocity, cell_row, transformed, norm, sum, transform, measure};
  Kokkos::parallel_for("velofield::transform_velocity", Kokkos::RangePolicy<Exec>(0, in.cells), vt);

  const int vector_length = std::is_same<Mem, Kokkos::HostSpace>::value ? 1 : 32;
  const Kokkos::TeamPolicy<Exec> policy(static_cast<int>(in.cells), Kokkos::AUTO, vector_length);
  auto run = [&](auto transform_constant) {
    constexpr SimilarityTransform T = decltype(transform_constant)::value;
    SimilarityFunctor<Value, Exec, T> f{rows, halo, transformed, norm, sum, cell_row, offsets, neighbor, out, measure};
    Kokkos::parallel_for("velofield::transition_similarity", policy, f);
  };
  switch (transform) {
    case SimilarityTransform::sqrt: run(std::integral_constant<SimilarityTransform, SimilarityTransform::sqrt>()); break;
    case SimilarityTransform::log: run(std::integral_constant<SimilarityTransform, SimilarityTransform::log>()); break;
    case SimilarityTransform::logratio: run(std::integral_constant<SimilarityTransform, SimilarityTransform::logratio>()); break;
    case SimilarityTransform::linear: run(std::integral_constant<SimilarityTransform, SimilarityTransform::linear>()); break;
  }
  Kokkos::deep_copy(h_similarity, out);
}

template void transition_similarity<float>(const SimilarityInput<float>&, SimilarityTransform, SimilarityMeasure, double*);
template void transition_similarity<double>(const SimilarityInput<double>&, SimilarityTransform, SimilarityMeasure, double*);

}  // namespace velofield::kernels
