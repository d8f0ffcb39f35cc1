#pragma once
// Reads chosen columns of a layer's local rows as doubles, whatever the layer's storage (CSR with
// 32- or 64-bit indices, or dense; float32, float64 or another numeric dtype): column blocks
// gene-major for the per-gene fits, single rows for building a velocity layer row by row.
#include <cstdint>
#include <optional>
#include <vector>

#include "data/matrix.hpp"

namespace velofield {

// What read_columns() saw in each column of the rank's rows, for free while the values pass by.
struct ColumnExtremes {
  std::vector<double> max;            // largest finite value (lowest double when none)
  std::vector<double> max_abs;        // largest finite |value| (0 when none)
  std::vector<int64_t> non_finite;    // NaN/Inf values (left out of the maxima)
};

class LayerReader {
 public:
  // Keeps a reference to `m` (which must outlive the reader); a CSR block whose rows are not sorted
  // by column is copied sorted (scipy almost always writes them sorted; sorted rows keep the column
  // walk linear), and values of a non-float dtype are copied as float64.
  explicit LayerReader(const Matrix& m);
  LayerReader(const LayerReader&) = delete;   // holds pointers into itself
  LayerReader& operator=(const LayerReader&) = delete;

  int64_t rows() const { return matrix_rows(*m_); }
  int64_t cols() const { return matrix_cols(*m_); }
  DType value_dtype() const;   // float32 or float64: the dtype values are read from

  // out[j * rows() + i] = M[i, cols[j]] for every local row i; cols sorted ascending. Reading blocks
  // of columns left to right walks each CSR row once in all (any order works, with a search).
  // `extremes`, when given, receives each column's ColumnExtremes.
  void read_columns(const int64_t* cols, int64_t ncols, double* out, ColumnExtremes* extremes = nullptr);
  // Scattered entries, row by row: local row i's are at positions [indptr[i], indptr[i + 1]) of
  // `pos` (ascending indices into cols, which is sorted ascending); out[k] = M[i, cols[pos[k]]].
  // Like read_columns, blocks of columns read left to right walk each CSR row once in all.
  void read_entries(const int64_t* indptr, const int64_t* pos, const int64_t* cols, double* out);
  // out[j] = M[row, cols[j]]; cols sorted ascending.
  void read_row(int64_t row, const int64_t* cols, int64_t ncols, double* out) const;

 private:
  const Matrix* m_;
  std::optional<CsrMatrix> sorted_;     // CSR rows sorted, values float32/float64
  std::optional<Matrix> dense_copy_;    // a dense block of a non-float dtype, as float64
  const CsrMatrix* csr_ = nullptr;
  std::vector<int64_t> resume_;   // per CSR row: where the last read_columns stopped
};

}  // namespace velofield
