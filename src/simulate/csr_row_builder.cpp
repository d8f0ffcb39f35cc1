#include "simulate/csr_row_builder.hpp"

#include <algorithm>

namespace velofield::sim {

CsrRowBuilder::CsrRowBuilder(int64_t rows, int64_t cols, int64_t expected_nnz) {
  matrix_.rows = rows;
  matrix_.cols = cols;
  matrix_.indptr.reserve(static_cast<size_t>(rows + 1));
  matrix_.indices = Array(DType::i32, 0);
  matrix_.data = Array(DType::f32, 0);
  capacity_ = std::max<int64_t>(expected_nnz, 0);
  matrix_.indices.resize(static_cast<size_t>(capacity_));
  matrix_.data.resize(static_cast<size_t>(capacity_));
  indices_ = matrix_.indices.data<int32_t>();
  values_ = matrix_.data.data<float>();
}

void CsrRowBuilder::grow() {
  capacity_ = std::max<int64_t>(1024, capacity_ + capacity_ / 4);
  matrix_.indices.resize(static_cast<size_t>(capacity_));
  matrix_.data.resize(static_cast<size_t>(capacity_));
  indices_ = matrix_.indices.data<int32_t>();
  values_ = matrix_.data.data<float>();
}

CsrMatrix CsrRowBuilder::finish(int64_t global_nnz) {
  matrix_.indices.resize(static_cast<size_t>(nnz_));
  matrix_.data.resize(static_cast<size_t>(nnz_));
  matrix_.file_indices_dtype = DType::i32;
  matrix_.file_indptr_dtype = index_dtype_for(global_nnz);
  capacity_ = nnz_ = 0;
  indices_ = nullptr;
  values_ = nullptr;
  return std::move(matrix_);
}

}  // namespace velofield::sim
