#include "transition/gene_columns.hpp"

#include <algorithm>

namespace velofield {

GeneColumns::GeneColumns(const Matrix& layer, const std::vector<int64_t>& genes) : layer_(layer), genes_(genes) {
  if (std::holds_alternative<CsrMatrix>(layer)) {
    slot_of_column_.assign(static_cast<size_t>(std::get<CsrMatrix>(layer).cols), -1);
    for (size_t s = 0; s < genes.size(); ++s) slot_of_column_[static_cast<size_t>(genes[s])] = static_cast<int32_t>(s);
  }
}

template <class T>
void GeneColumns::read(int64_t r, T* out) const {
  if (const auto* csr = std::get_if<CsrMatrix>(&layer_)) {
    std::fill(out, out + genes_.size(), T(0));
    dispatch_dtype(csr->data.dtype(), [&](auto value_type) {
      using V = decltype(value_type);
      const V* data = csr->data.data<V>();
      for (int64_t p = csr->indptr[static_cast<size_t>(r)]; p < csr->indptr[static_cast<size_t>(r + 1)]; ++p) {
        const int32_t s = slot_of_column_[static_cast<size_t>(csr->index(p))];
        if (s >= 0) out[s] = static_cast<T>(data[p]);
      }
    });
    return;
  }
  const DenseArray& dense = std::get<DenseArray>(layer_);
  const int64_t stride = dense.row_stride();
  dispatch_dtype(dense.values.dtype(), [&](auto value_type) {
    using V = decltype(value_type);
    const V* row = dense.values.data<V>() + r * stride;
    for (size_t s = 0; s < genes_.size(); ++s) out[s] = static_cast<T>(row[genes_[s]]);
  });
}

template void GeneColumns::read<float>(int64_t, float*) const;
template void GeneColumns::read<double>(int64_t, double*) const;

}  // namespace velofield
