#pragma once
// The dtype a CSR indptr or indices array is written with. The file's own dtype is kept while
// every value fits it, so a read → write round trip reproduces the file; otherwise the narrowest
// of int32/int64 that holds the largest value. This is where counts beyond 2^31 (the nonzeros of
// a 10M-cell matrix) become int64 instead of wrapping in an int32 indptr.
#include <cstdint>

#include "data/array.hpp"

namespace velofield {

// Largest value an integer dtype holds, capped at INT64_MAX (velofield's indices are int64).
int64_t dtype_max_index(DType t);
// `file_dtype` may be anything the reader accepted (or a float for a matrix made in memory);
// `max_value` is the largest value to store (total nnz for indptr, columns - 1 for indices).
DType stored_index_dtype(DType file_dtype, int64_t max_value);

}  // namespace velofield
