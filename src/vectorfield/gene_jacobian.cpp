#include "vectorfield/gene_jacobian.hpp"

#include <algorithm>
#include <unordered_map>

#include "core/error.hpp"

namespace velofield {

GeneLoadings pca_loadings(const Dataset& d, const std::vector<std::string>& genes, int64_t dim, const std::string& key) {
  GeneLoadings out;
  out.genes = genes;
  out.dim = dim;
  std::unordered_map<std::string, int64_t> position;
  for (size_t g = 0; g < d.var.index.size(); ++g) position.emplace(d.var.index[g], static_cast<int64_t>(g));
  // uns PCs has one row per use_for_pca gene (dynamo); varm PCs one per gene.
  const bool in_uns = d.uns.contains("PCs");
  if (!in_uns && !d.varm.count("PCs"))
    fail(d.source, key, "gene-space Jacobians need the PCA loadings (uns PCs or varm PCs), and this file has neither");
  const DenseArray* pcs = nullptr;
  if (in_uns) {
    pcs = &d.uns.at("PCs").array;
  } else {
    const Matrix& m = d.varm.at("PCs");
    if (!std::holds_alternative<DenseArray>(m)) fail(d.source, "varm/PCs", "expected a dense array");
    pcs = &std::get<DenseArray>(m);
  }
  if (pcs->shape.size() != 2 || pcs->shape[1] < dim)
    fail(d.source, in_uns ? "uns/PCs" : "varm/PCs", "expected genes × " + std::to_string(dim) + " loadings");
  std::vector<int64_t> pcs_row(d.var.index.size(), -1);
  if (in_uns) {
    if (!d.var.has("use_for_pca")) fail(d.source, "var/use_for_pca", "not present (it says which genes uns/PCs holds)");
    const std::vector<double> use = d.var.columns.at("use_for_pca").values.to_double();
    int64_t k = 0;
    for (size_t g = 0; g < use.size(); ++g)
      if (use[g] != 0) pcs_row[g] = k++;
    if (k != pcs->shape[0])
      fail(d.source, "uns/PCs", "has " + std::to_string(pcs->shape[0]) + " rows but var/use_for_pca flags " + std::to_string(k) + " genes");
  } else {
    for (size_t g = 0; g < pcs_row.size(); ++g) pcs_row[g] = static_cast<int64_t>(g);
  }
  const std::vector<double> values = pcs->values.to_double();
  const int64_t width = pcs->shape[1];
  for (const auto& gene : genes) {
    auto it = position.find(gene);
    if (it == position.end()) fail(d.source, key, "gene '" + gene + "' is not in var");
    const int64_t row = pcs_row[static_cast<size_t>(it->second)];
    if (row < 0) fail(d.source, key, "gene '" + gene + "' was not used for the PCA (var/use_for_pca is false)");
    out.rows.insert(out.rows.end(), values.begin() + row * width, values.begin() + row * width + dim);
  }
  return out;
}

std::vector<double> gene_jacobians(const kernels::RkhsField& field, int64_t rows, const double* x,
                                   const GeneLoadings& regulators, const GeneLoadings& effectors) {
  const int64_t D = field.dim, R = static_cast<int64_t>(regulators.genes.size()), E = static_cast<int64_t>(effectors.genes.size());
  std::vector<double> out(static_cast<size_t>(rows * E * R), 0.0);
  constexpr int64_t kChunk = 4096;
  std::vector<double> v, jv;
  for (int64_t b = 0; b < rows; b += kChunk) {
    const int64_t n = std::min(kChunk, rows - b);
    v.resize(static_cast<size_t>(n * D));
    jv.resize(static_cast<size_t>(n * D));
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t i = 0; i < n; ++i)
        std::copy(regulators.rows.begin() + r * D, regulators.rows.begin() + (r + 1) * D, v.begin() + i * D);
      kernels::rkhs_jacobian_vector_products(field, n, x + b * D, v.data(), jv.data());
      for (int64_t i = 0; i < n; ++i)
        for (int64_t e = 0; e < E; ++e) {
          double s = 0;
          for (int64_t p = 0; p < D; ++p) s += effectors.rows[static_cast<size_t>(e * D + p)] * jv[static_cast<size_t>(i * D + p)];
          out[static_cast<size_t>(((b + i) * E + e) * R + r)] = s;
        }
    }
  }
  return out;
}

}  // namespace velofield
