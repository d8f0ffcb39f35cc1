#include "moments/moment_matrix.hpp"

#include <vector>

namespace velofield {

DistMatrix moment_matrix(MPI_Comm comm, const DistMatrix& connectivities) {
  std::vector<int64_t> indptr, cols;
  std::vector<double> vals;
  connectivities.local_csr(indptr, cols, vals);
  PetscInt begin = 0, end = 0;
  MatGetOwnershipRange(connectivities.mat(), &begin, &end);
  const int64_t rows = static_cast<int64_t>(indptr.size()) - 1;
  std::vector<int64_t> out_ptr{0}, out_cols;
  std::vector<double> out_vals;
  out_cols.reserve(cols.size() + static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t self = begin + i;
    const size_t row_start = out_cols.size();
    bool self_done = false;
    for (int64_t k = indptr[static_cast<size_t>(i)]; k < indptr[static_cast<size_t>(i + 1)]; ++k) {
      const int64_t c = cols[static_cast<size_t>(k)];
      if (c == self) continue;
      if (vals[static_cast<size_t>(k)] == 0) continue;
      if (!self_done && c > self) {
        out_cols.push_back(self);
        self_done = true;
      }
      out_cols.push_back(c);
    }
    if (!self_done) out_cols.push_back(self);
    const size_t n = out_cols.size() - row_start;
    const float w = 1.0f / static_cast<float>(n);
    out_vals.insert(out_vals.end(), n, static_cast<double>(w));
    out_ptr.push_back(static_cast<int64_t>(out_cols.size()));
  }
  return DistMatrix::from_local_csr(comm, rows, connectivities.global_cols(), out_ptr, out_cols, out_vals, DType::f32);
}

}  // namespace velofield
