#pragma once
// The Kokkos functor behind csr_row_stats(): one pass over the rows, one parallel_reduce.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "csr_row_stats.hpp"
#include "kokkos_math.hpp"

namespace velofield::kernels {

struct AnomalyCounts {
  int64_t non_finite = 0, negative = 0, non_integer = 0;
  int64_t first_bad_row = -1;   // lowest row holding any anomaly, -1 when clean

  KOKKOS_INLINE_FUNCTION AnomalyCounts& operator+=(const AnomalyCounts& o) {
    non_finite += o.non_finite;
    negative += o.negative;
    non_integer += o.non_integer;
    if (o.first_bad_row >= 0 && (first_bad_row < 0 || o.first_bad_row < first_bad_row))
      first_bad_row = o.first_bad_row;
    return *this;
  }
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile AnomalyCounts& o) volatile {
    non_finite += o.non_finite;
    negative += o.negative;
    non_integer += o.non_integer;
    if (o.first_bad_row >= 0 && (first_bad_row < 0 || o.first_bad_row < first_bad_row))
      first_bad_row = o.first_bad_row;
  }
};

template <class Value, class Index, class MemorySpace>
struct CsrRowStatsFunctor {
  using ValueView = Kokkos::View<const Value*, MemorySpace>;
  using IndptrView = Kokkos::View<const int64_t*, MemorySpace>;
  using SumView = Kokkos::View<double*, MemorySpace>;
  using CountView = Kokkos::View<int64_t*, MemorySpace>;
  using value_type = AnomalyCounts;

  IndptrView indptr;
  ValueView values;
  SumView row_sum;
  CountView row_nnz;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t row, AnomalyCounts& acc) const {
    double sum = 0;
    int64_t nnz = 0;
    bool bad = false;
    for (int64_t k = indptr(row); k < indptr(row + 1); ++k) {
      const double v = static_cast<double>(values(k));
      if (!kmath::isfinite(v)) {
        ++acc.non_finite;
        bad = true;
        continue;
      }
      if (v < 0) { ++acc.negative; bad = true; }
      if (v != kmath::floor(v)) { ++acc.non_integer; bad = true; }
      sum += v;
      nnz += (v != 0);
    }
    row_sum(row) = sum;
    row_nnz(row) = nnz;
    if (bad && (acc.first_bad_row < 0 || row < acc.first_bad_row)) acc.first_bad_row = row;
  }
  KOKKOS_INLINE_FUNCTION void init(AnomalyCounts& a) const { a = AnomalyCounts{}; }
  KOKKOS_INLINE_FUNCTION void join(volatile AnomalyCounts& a, const volatile AnomalyCounts& b) const { a += b; }
  KOKKOS_INLINE_FUNCTION void join(AnomalyCounts& a, const AnomalyCounts& b) const { a += b; }
};

}  // namespace velofield::kernels
