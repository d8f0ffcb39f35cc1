#pragma once
// How a velocity layer is stored: CSR (dynamo's layout; genes without a velocity cost nothing) unless
// a dense block is smaller, which it is once most genes carry a velocity (a float32 value plus its
// int32 column index is twice the float32 value alone). Decided on global counts, so every rank
// stores the layer the same way.
#include <mpi.h>

#include <cstdint>

#include "data/matrix.hpp"

namespace velofield {

// Collective.
bool dense_is_smaller(MPI_Comm comm, int64_t local_nnz, int64_t local_rows, int64_t cols, DType value_dtype);
// The same values as a dense block (implicit entries 0).
DenseArray csr_to_dense(const CsrMatrix& m);

}  // namespace velofield
