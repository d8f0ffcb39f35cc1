#include "evaluate/velocity_rows.hpp"

#include <algorithm>

namespace velofield {

void RowReader::read(int64_t r, double* out) const {
  const int64_t n = cols();
  if (const auto* csr = std::get_if<CsrMatrix>(&m_)) {
    std::fill(out, out + n, 0.0);
    dispatch_dtype(csr->data.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* v = csr->data.data<T>();
      for (int64_t k = csr->indptr[static_cast<size_t>(r)]; k < csr->indptr[static_cast<size_t>(r + 1)]; ++k)
        out[csr->index(k)] = static_cast<double>(v[k]);
    });
    return;
  }
  const DenseArray& d = std::get<DenseArray>(m_);
  dispatch_dtype(d.values.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* v = d.values.data<T>() + r * n;
    for (int64_t j = 0; j < n; ++j) out[j] = static_cast<double>(v[j]);
  });
}

void RowReader::stored_columns(int64_t r, std::vector<int64_t>& cols) const {
  cols.clear();
  if (const auto* csr = std::get_if<CsrMatrix>(&m_))
    for (int64_t k = csr->indptr[static_cast<size_t>(r)]; k < csr->indptr[static_cast<size_t>(r + 1)]; ++k) cols.push_back(csr->index(k));
}

}  // namespace velofield
