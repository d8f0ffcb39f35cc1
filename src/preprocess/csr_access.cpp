#include "preprocess/csr_access.hpp"

#include <variant>
#include <vector>

namespace velofield::preprocess {

void make_csr_float(Matrix& m) {
  if (auto* dense = std::get_if<DenseArray>(&m)) {
    const DType out_type = dense->values.dtype() == DType::f64 ? DType::f64 : DType::f32;
    const int64_t rows = dense->rows(), cols = dense->row_stride();
    std::vector<int64_t> indptr(static_cast<size_t>(rows + 1), 0);
    std::vector<int64_t> idx;
    std::vector<double> val;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const double v = dense->values.as_double(static_cast<size_t>(r * cols + c));
        if (v != 0) {
          idx.push_back(c);
          val.push_back(v);
        }
      }
      indptr[static_cast<size_t>(r + 1)] = static_cast<int64_t>(idx.size());
    }
    CsrMatrix csr;
    csr.rows = rows;
    csr.cols = cols;
    csr.indptr = std::move(indptr);
    const DType itype = index_dtype_for(cols);
    csr.indices = Array(itype, idx.size());
    for (size_t k = 0; k < idx.size(); ++k) {
      if (itype == DType::i32) csr.indices.data<int32_t>()[k] = static_cast<int32_t>(idx[k]);
      else csr.indices.data<int64_t>()[k] = idx[k];
    }
    csr.data = Array::from(val).converted(out_type);
    csr.file_indices_dtype = itype;
    m = std::move(csr);
    return;
  }
  auto& csr = std::get<CsrMatrix>(m);
  if (csr.indices.dtype() != DType::i32 && csr.indices.dtype() != DType::i64) csr.indices = csr.indices.converted(DType::i64);
  if (csr.data.dtype() != DType::f32 && csr.data.dtype() != DType::f64) csr.data = csr.data.converted(DType::f32);
}

}  // namespace velofield::preprocess
