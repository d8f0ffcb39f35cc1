#include "data/matrix.hpp"

#include <limits>

namespace velofield {

CsrMatrix CsrMatrix::with_shape(int64_t rows, int64_t cols, DType value_type) {
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.assign(static_cast<size_t>(rows + 1), 0);
  m.indices = Array(index_dtype_for(cols), 0);
  m.file_indices_dtype = m.indices.dtype();
  m.data = Array(value_type, 0);
  return m;
}

bool CsrMatrix::operator==(const CsrMatrix& o) const {
  return rows == o.rows && cols == o.cols && indptr == o.indptr && indices == o.indices && data == o.data;
}

int64_t DenseArray::row_stride() const {
  int64_t s = 1;
  for (size_t i = 1; i < shape.size(); ++i) s *= shape[i];
  return s;
}

int64_t DenseArray::elements() const {
  int64_t s = 1;
  for (auto d : shape) s *= d;
  return s;
}

DenseArray DenseArray::zeros(std::vector<int64_t> shape, DType dtype) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array(dtype, static_cast<size_t>(a.elements()));
  return a;
}

std::string matrix_summary(const Matrix& m) {
  if (auto* c = std::get_if<CsrMatrix>(&m)) return std::string("csr ") + dtype_name(c->data.dtype());
  return std::string("dense ") + dtype_name(std::get<DenseArray>(m).values.dtype());
}

DType index_dtype_for(int64_t max_value) {
  return max_value <= std::numeric_limits<int32_t>::max() ? DType::i32 : DType::i64;
}

}  // namespace velofield
