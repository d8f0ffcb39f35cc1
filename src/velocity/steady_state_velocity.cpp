#include "velocity/steady_state_velocity.hpp"

#include <algorithm>
#include <memory>

#include "velocity/layer_reader.hpp"

namespace velofield {

namespace {

// Calls emit(row, gene position, value) for every nonzero (or NaN) velocity of the local rows.
template <class Emit>
void for_each_velocity(const LayerReader& s, const LayerReader& u, const std::vector<int64_t>& genes,
                       const std::vector<double>& gamma, Emit&& emit) {
  const int64_t G = static_cast<int64_t>(genes.size());
  std::vector<double> row_s(static_cast<size_t>(G)), row_u(static_cast<size_t>(G));
  for (int64_t i = 0; i < s.rows(); ++i) {
    s.read_row(i, genes.data(), G, row_s.data());
    u.read_row(i, genes.data(), G, row_u.data());
    for (int64_t j = 0; j < G; ++j) {
      const double v = row_u[static_cast<size_t>(j)] - gamma[static_cast<size_t>(j)] * row_s[static_cast<size_t>(j)];
      if (v != 0) emit(i, j, v);   // NaN (undefined gamma) is kept
    }
  }
}

template <class Index, class Value>
void fill_csr(const LayerReader& s, const LayerReader& u, const std::vector<int64_t>& genes, const std::vector<double>& gamma,
              CsrMatrix& out) {
  out.indices.resize(static_cast<size_t>(out.nnz()));
  out.data.resize(static_cast<size_t>(out.nnz()));
  Index* idx = out.indices.data<Index>();
  Value* val = out.data.data<Value>();
  std::vector<int64_t> next(out.indptr.begin(), out.indptr.end() - 1);
  for_each_velocity(s, u, genes, gamma, [&](int64_t i, int64_t j, double v) {
    const int64_t k = next[static_cast<size_t>(i)]++;
    idx[k] = static_cast<Index>(genes[static_cast<size_t>(j)]);
    val[k] = static_cast<Value>(v);
  });
}

template <class Value>
void fill_dense(const LayerReader& s, const LayerReader& u, const std::vector<int64_t>& genes, const std::vector<double>& gamma,
                DenseArray& out) {
  Value* val = out.values.data<Value>();
  const int64_t stride = out.row_stride();
  for_each_velocity(s, u, genes, gamma, [&](int64_t i, int64_t j, double v) {
    val[i * stride + genes[static_cast<size_t>(j)]] = static_cast<Value>(v);
  });
}

}  // namespace

Matrix steady_state_velocity(const Matrix& m_s, const Matrix& m_u, const std::vector<int64_t>& genes,
                             const std::vector<double>& gamma, int64_t n_vars, DType value_dtype) {
  const LayerReader s(m_s), u(m_u);
  const int64_t rows = s.rows();
  // Dense when the fitted genes' values alone, with their column indices, would outweigh a dense
  // block: decided on the gene counts, so every rank decides alike and a dense layer is filled in
  // one pass.
  const double value = static_cast<double>(dtype_size(value_dtype)), index = static_cast<double>(dtype_size(index_dtype_for(n_vars)));
  if (static_cast<double>(genes.size()) * (value + index) > static_cast<double>(n_vars) * value) {
    DenseArray out = DenseArray::zeros({rows, n_vars}, value_dtype);
    if (value_dtype == DType::f32) fill_dense<float>(s, u, genes, gamma, out);
    else fill_dense<double>(s, u, genes, gamma, out);
    return out;
  }
  // CSR: count, then fill, so that the layer is allocated once at its size.
  CsrMatrix out = CsrMatrix::with_shape(rows, n_vars, value_dtype);
  for_each_velocity(s, u, genes, gamma, [&](int64_t i, int64_t, double) { ++out.indptr[static_cast<size_t>(i + 1)]; });
  for (int64_t i = 0; i < rows; ++i) out.indptr[static_cast<size_t>(i + 1)] += out.indptr[static_cast<size_t>(i)];
  const bool wide = out.indices.dtype() == DType::i64;
  if (value_dtype == DType::f32) {
    if (wide) fill_csr<int64_t, float>(s, u, genes, gamma, out);
    else fill_csr<int32_t, float>(s, u, genes, gamma, out);
  } else {
    if (wide) fill_csr<int64_t, double>(s, u, genes, gamma, out);
    else fill_csr<int32_t, double>(s, u, genes, gamma, out);
  }
  return out;
}

}  // namespace velofield
