#pragma once
// Appends CSR rows (int32 column indices, float32 values) straight into the Arrays a CsrMatrix
// holds, so a simulated layer never exists twice in memory and never as a dense block.
#include <cstdint>

#include "data/matrix.hpp"

namespace velofield::sim {

class CsrRowBuilder {
 public:
  // `expected_nnz` is reserved up front (touched once, as the values will be); growth beyond it
  // is geometric.
  CsrRowBuilder(int64_t rows, int64_t cols, int64_t expected_nnz);
  void push(int64_t col, float value) {
    if (nnz_ == capacity_) grow();
    indices_[nnz_] = static_cast<int32_t>(col);
    values_[nnz_] = value;
    ++nnz_;
  }
  void end_row() { matrix_.indptr.push_back(nnz_); }
  int64_t nnz() const { return nnz_; }
  // The finished matrix; `global_nnz` (over all ranks) picks the file's indptr dtype so it does
  // not depend on the rank count.
  CsrMatrix finish(int64_t global_nnz);

 private:
  void grow();
  CsrMatrix matrix_;
  int64_t nnz_ = 0, capacity_ = 0;
  int32_t* indices_ = nullptr;
  float* values_ = nullptr;
};

}  // namespace velofield::sim
