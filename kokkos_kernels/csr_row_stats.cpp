#include "csr_row_stats_functor.hpp"

namespace velofield::kernels {

template <class Value>
CountAnomalies csr_row_stats(int64_t rows, const int64_t* indptr, const Value* values, double* row_sum,
                             int64_t* row_nnz) {
  using Exec = Kokkos::DefaultExecutionSpace;
  using Mem = Exec::memory_space;
  using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
  const int64_t nnz = rows > 0 ? indptr[rows] : 0;
  Kokkos::View<const int64_t*, Kokkos::HostSpace, Unmanaged> h_indptr(indptr, rows + 1);
  Kokkos::View<const Value*, Kokkos::HostSpace, Unmanaged> h_values(values, nnz);
  Kokkos::View<double*, Kokkos::HostSpace, Unmanaged> h_sum(row_sum, rows);
  Kokkos::View<int64_t*, Kokkos::HostSpace, Unmanaged> h_nnz(row_nnz, rows);

  auto d_indptr = Kokkos::create_mirror_view_and_copy(Mem(), h_indptr);
  auto d_values = Kokkos::create_mirror_view_and_copy(Mem(), h_values);
  auto d_sum = Kokkos::create_mirror_view(Mem(), h_sum);
  auto d_nnz = Kokkos::create_mirror_view(Mem(), h_nnz);

  CsrRowStatsFunctor<Value, int64_t, Mem> f{d_indptr, d_values, d_sum, d_nnz};
  AnomalyCounts acc;
  Kokkos::parallel_reduce("velofield::csr_row_stats", Kokkos::RangePolicy<Exec>(0, rows), f, acc);
  CountAnomalies result;
  result.non_finite = acc.non_finite;
  result.negative = acc.negative;
  result.non_integer = acc.non_integer;
  result.first_bad_row = acc.first_bad_row;
  Kokkos::deep_copy(h_sum, d_sum);
  Kokkos::deep_copy(h_nnz, d_nnz);
  return result;
}

template CountAnomalies csr_row_stats<float>(int64_t, const int64_t*, const float*, double*, int64_t*);
template CountAnomalies csr_row_stats<double>(int64_t, const int64_t*, const double*, double*, int64_t*);

}  // namespace velofield::kernels
