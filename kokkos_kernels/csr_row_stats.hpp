#pragma once
// Per-row sums and nonzero counts of a CSR block, and a scan of its values for what a count
// matrix must not hold (NaN/Inf, negatives, non-integers). This header is Kokkos-free so that
// callers outside kokkos_kernels/ do not compile Kokkos; the functor is in
// csr_row_stats_functor.hpp.
#include <cstdint>

namespace velofield::kernels {

struct CountAnomalies {
  int64_t non_finite = 0, negative = 0, non_integer = 0;
  int64_t first_bad_row = -1;   // lowest row holding any anomaly, -1 when clean
};

// Host-pointer entry point (float and double values): copies to the default execution space's
// memory when that is not host-accessible, runs one parallel_reduce, copies the sums back.
template <class Value>
CountAnomalies csr_row_stats(int64_t rows, const int64_t* indptr, const Value* values, double* row_sum,
                             int64_t* row_nnz);

}  // namespace velofield::kernels
