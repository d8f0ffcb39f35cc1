#include "velocity/velocity_storage.hpp"

#include <algorithm>

namespace velofield {

bool dense_is_smaller(MPI_Comm comm, int64_t local_nnz, int64_t local_rows, int64_t cols, DType value_dtype) {
  int64_t totals[2] = {local_nnz, local_rows};
  MPI_Allreduce(MPI_IN_PLACE, totals, 2, MPI_INT64_T, MPI_SUM, comm);
  const double value = static_cast<double>(dtype_size(value_dtype)), index = static_cast<double>(dtype_size(index_dtype_for(cols)));
  return static_cast<double>(totals[0]) * (value + index) > static_cast<double>(totals[1]) * static_cast<double>(cols) * value;
}

DenseArray csr_to_dense(const CsrMatrix& m) {
  DenseArray out = DenseArray::zeros({m.rows, m.cols}, m.data.dtype());
  const size_t w = dtype_size(m.data.dtype());
  auto* dst = static_cast<unsigned char*>(out.values.raw());
  const auto* src = static_cast<const unsigned char*>(m.data.raw());
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t k = m.indptr[static_cast<size_t>(r)]; k < m.indptr[static_cast<size_t>(r + 1)]; ++k)
      std::copy_n(src + static_cast<size_t>(k) * w, w, dst + static_cast<size_t>(r * m.cols + m.index(k)) * w);
  return out;
}

}  // namespace velofield
