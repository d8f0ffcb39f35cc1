#pragma once
// The two local matrix kinds a slot holds: a CSR block of rows and a dense row-major block.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "data/array.hpp"

namespace velofield {

// Rows [0, rows) of a CSR block (for distributed slots: the rank's rows). indptr starts at 0.
// indices are int32 where the column count allows it, else int64; the dtypes the file used are
// kept so that a read → write round trip reproduces the file.
struct CsrMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> indptr{0};
  Array indices{DType::i32, 0};
  Array data{DType::f32, 0};
  DType file_indptr_dtype = DType::i32;
  DType file_indices_dtype = DType::i32;

  int64_t nnz() const { return indptr.empty() ? 0 : indptr.back(); }
  int64_t index(int64_t k) const {
    return indices.dtype() == DType::i32 ? indices.data<int32_t>()[k] : indices.data<int64_t>()[k];
  }
  // An empty rows × cols matrix with room for nnz entries, values of dtype `value_type`.
  static CsrMatrix with_shape(int64_t rows, int64_t cols, DType value_type = DType::f32);
  bool operator==(const CsrMatrix& o) const;
};

// Dense N-d array, row-major (C order). For obs-distributed slots shape[0] is the local rows.
struct DenseArray {
  std::vector<int64_t> shape;
  Array values;

  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t row_stride() const;      // elements per row (product of shape[1:])
  int64_t elements() const;
  static DenseArray zeros(std::vector<int64_t> shape, DType dtype = DType::f64);
  bool operator==(const DenseArray& o) const { return shape == o.shape && values == o.values; }
};

using Matrix = std::variant<CsrMatrix, DenseArray>;

inline int64_t matrix_rows(const Matrix& m) {
  return std::holds_alternative<CsrMatrix>(m) ? std::get<CsrMatrix>(m).rows : std::get<DenseArray>(m).rows();
}
inline int64_t matrix_cols(const Matrix& m) {
  return std::holds_alternative<CsrMatrix>(m) ? std::get<CsrMatrix>(m).cols : std::get<DenseArray>(m).row_stride();
}
std::string matrix_summary(const Matrix& m);   // "csr float32" / "dense float64"

// The minimal integer dtypes for CSR indices/indptr in memory.
DType index_dtype_for(int64_t max_value);

}  // namespace velofield
