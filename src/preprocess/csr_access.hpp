#pragma once
// Typed access to the CSR blocks the preprocessing reads: indices are int32 or int64, values float
// or double; the visitors hand the raw arrays to a generic lambda so each loop is compiled per type.
#include <cstdint>

#include "core/error.hpp"
#include "data/matrix.hpp"

namespace velofield::preprocess {

template <class F>
void visit_csr(const CsrMatrix& m, F&& f) {
  auto with_values = [&](const auto* idx) {
    if (m.data.dtype() == DType::f32) return f(m.indptr.data(), idx, m.data.data<float>());
    if (m.data.dtype() == DType::f64) return f(m.indptr.data(), idx, m.data.data<double>());
    throw Error(std::string("internal: CSR values of dtype ") + dtype_name(m.data.dtype()) + " where float/double was expected");
  };
  if (m.indices.dtype() == DType::i32) return with_values(m.indices.data<int32_t>());
  if (m.indices.dtype() == DType::i64) return with_values(m.indices.data<int64_t>());
  throw Error(std::string("internal: CSR indices of dtype ") + dtype_name(m.indices.dtype()));
}

template <class F>
void visit_csr_values(CsrMatrix& m, F&& f) {
  if (m.data.dtype() == DType::f32) return f(m.data.data<float>());
  if (m.data.dtype() == DType::f64) return f(m.data.data<double>());
  throw Error(std::string("internal: CSR values of dtype ") + dtype_name(m.data.dtype()));
}

// The layer as CSR with float or double values: dense blocks become CSR (zeros dropped), integer
// values become float32 (dynamo casts integer counts to float32 too).
void make_csr_float(Matrix& m);

}  // namespace velofield::preprocess
