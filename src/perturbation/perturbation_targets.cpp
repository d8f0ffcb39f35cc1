#include "perturbation/perturbation_targets.hpp"

#include <cmath>
#include <unordered_map>

#include "core/error.hpp"

namespace velofield {

PerturbationTargets perturbation_targets(const Dataset& d, const std::vector<std::string>& genes, const std::vector<double>& values,
                                         int64_t dim, const std::string& option) {
  if (genes.empty()) fail("", option, "no gene given (e.g. --genes Gcg,Neurog3)");
  if (values.size() != 1 && values.size() != genes.size())
    fail("", option, std::to_string(genes.size()) + " genes but " + std::to_string(values.size()) + " values (give one value, or one per gene)");
  for (double v : values)
    if (!std::isfinite(v)) fail("", option, "the values must be finite numbers");
  if (!d.uns.contains("PCs") || d.uns.at("PCs").kind != UnsNode::Kind::numeric)
    fail(d.source, "uns/PCs", "not present: the perturbation needs the PCA loadings (run the preprocess stage)");
  if (!d.uns.contains("pca_mean") || d.uns.at("pca_mean").kind != UnsNode::Kind::numeric)
    fail(d.source, "uns/pca_mean", "not present: the perturbation needs the PCA's gene means to reconstruct expression");
  if (!d.var.has("use_for_pca")) fail(d.source, "var/use_for_pca", "not present (it says which genes uns/PCs holds)");
  const DenseArray& pcs = d.uns.at("PCs").array;
  const std::vector<double> mean = d.uns.at("pca_mean").array.values.to_double();
  if (pcs.shape.size() != 2 || pcs.shape[1] < dim)
    fail(d.source, "uns/PCs", "expected genes × (at least " + std::to_string(dim) + ") loadings for the " + std::to_string(dim) + "-D field");
  if (static_cast<int64_t>(mean.size()) != pcs.shape[0])
    fail(d.source, "uns/pca_mean", "has " + std::to_string(mean.size()) + " entries but uns/PCs has " + std::to_string(pcs.shape[0]) + " rows");
  const std::vector<double> use = d.var.columns.at("use_for_pca").values.to_double();
  std::vector<int64_t> row_of(use.size(), -1);
  int64_t k = 0;
  for (size_t g = 0; g < use.size(); ++g)
    if (use[g] != 0) row_of[g] = k++;
  if (k != pcs.shape[0])
    fail(d.source, "uns/PCs", "has " + std::to_string(pcs.shape[0]) + " rows but var/use_for_pca flags " + std::to_string(k) + " genes");
  std::unordered_map<std::string, int64_t> position;
  for (size_t g = 0; g < d.var.index.size(); ++g) position.emplace(d.var.index[g], static_cast<int64_t>(g));
  const std::vector<double> loadings = pcs.values.to_double();
  PerturbationTargets t;
  t.dim = dim;
  for (size_t i = 0; i < genes.size(); ++i) {
    const std::string& gene = genes[i];
    auto it = position.find(gene);
    if (it == position.end()) fail(d.source, option, "gene '" + gene + "' is not in var");
    const int64_t row = row_of[static_cast<size_t>(it->second)];
    if (row < 0) fail(d.source, option, "gene '" + gene + "' was not used for the PCA (var/use_for_pca is false), so it has no loadings to perturb");
    for (const auto& earlier : t.genes)
      if (earlier == gene) fail("", option, "gene '" + gene + "' is listed twice");
    t.genes.push_back(gene);
    t.values.push_back(values.size() == 1 ? values[0] : values[i]);
    t.var_index.push_back(it->second);
    t.pcs_row.push_back(row);
    t.loadings.insert(t.loadings.end(), loadings.begin() + row * pcs.shape[1], loadings.begin() + row * pcs.shape[1] + dim);
    t.mean.push_back(mean[static_cast<size_t>(row)]);
  }
  return t;
}

std::vector<double> perturbation_delta_x(MPI_Comm comm, const PerturbationTargets& t, PerturbMode mode, int64_t rows,
                                         const double* x, int64_t total) {
  const int64_t D = t.dim, G = static_cast<int64_t>(t.genes.size());
  auto reconstructed = [&](int64_t i, int64_t g) {
    double s = t.mean[static_cast<size_t>(g)];
    for (int64_t q = 0; q < D; ++q) s += x[i * D + q] * t.loadings[static_cast<size_t>(g * D + q)];
    return s;
  };
  std::vector<double> target(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g) target[static_cast<size_t>(g)] = t.values[static_cast<size_t>(g)];
  if (mode == PerturbMode::z_score) {
    std::vector<double> sums(static_cast<size_t>(2 * G), 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t g = 0; g < G; ++g) {
        const double v = reconstructed(i, g);
        sums[static_cast<size_t>(g)] += v;
        sums[static_cast<size_t>(G + g)] += v * v;
      }
    MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), MPI_DOUBLE, MPI_SUM, comm);
    for (int64_t g = 0; g < G; ++g) {
      const double m = sums[static_cast<size_t>(g)] / static_cast<double>(total);
      const double var = std::max(0.0, sums[static_cast<size_t>(G + g)] / static_cast<double>(total) - m * m);
      target[static_cast<size_t>(g)] = m + t.values[static_cast<size_t>(g)] * std::sqrt(var);
    }
  }
  std::vector<double> dx(static_cast<size_t>(rows * D), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t g = 0; g < G; ++g) {
      const double amount = mode == PerturbMode::delta ? t.values[static_cast<size_t>(g)] : target[static_cast<size_t>(g)] - reconstructed(i, g);
      for (int64_t q = 0; q < D; ++q) dx[static_cast<size_t>(i * D + q)] += amount * t.loadings[static_cast<size_t>(g * D + q)];
    }
  return dx;
}

}  // namespace velofield
