#include "preprocess/gene_selection.hpp"

#include <svm.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace velofield::preprocess {

namespace {
void quiet_libsvm(const char*) {}
}  // namespace

std::vector<double> fit_predict_svr(const std::vector<double>& x, const std::vector<double>& y, const SvrOptions& o) {
  const size_t n = x.size();
  if (n == 0) return {};
  svm_set_print_string_function(&quiet_libsvm);
  // One feature per point: nodes {1, x}, {-1, 0}.
  std::vector<svm_node> nodes(2 * n);
  std::vector<svm_node*> rows(n);
  std::vector<double> targets(y);
  for (size_t i = 0; i < n; ++i) {
    nodes[2 * i] = svm_node{1, x[i]};
    nodes[2 * i + 1] = svm_node{-1, 0.0};
    rows[i] = &nodes[2 * i];
  }
  svm_problem problem{};
  problem.l = static_cast<int>(n);
  problem.y = targets.data();
  problem.x = rows.data();
  svm_parameter param{};
  param.svm_type = EPSILON_SVR;
  param.kernel_type = RBF;
  param.degree = 3;
  param.gamma = o.gamma > 0 ? o.gamma : 150.0 / static_cast<double>(n);
  param.coef0 = 0;
  param.cache_size = o.cache_mb;
  param.eps = o.tol;
  param.C = o.C;
  param.p = o.epsilon;
  param.shrinking = 1;
  param.probability = 0;
  if (const char* problem_text = svm_check_parameter(&problem, &param))
    throw Error(std::string("gene selection: libsvm rejected the SVR parameters: ") + problem_text);
  svm_model* model = svm_train(&problem, &param);
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = svm_predict(model, rows[i]);
  svm_free_and_destroy_model(&model);
  return out;
}

GeneSelection select_genes_by_svr(const std::vector<double>& mean, const std::vector<double>& mean_sq,
                                  const std::vector<uint8_t>& candidates, int64_t n_top_genes, const SvrOptions& o,
                                  bool score_when_all_selected) {
  const size_t G = mean.size();
  GeneSelection s;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.log_m.assign(G, nan);
  s.log_cv.assign(G, nan);
  s.score.assign(G, -std::numeric_limits<double>::infinity());
  s.use_for_pca.assign(G, 0);
  const bool all_selected = static_cast<int64_t>(G) <= n_top_genes;

  std::vector<size_t> fit;   // genes in the fit, var order
  for (size_t g = 0; g < G; ++g)
    if (candidates[g]) fit.push_back(g);
  s.n_fitted = static_cast<int64_t>(fit.size());
  if (!fit.empty() && (!all_selected || score_when_all_selected)) {
    // Sparse-input moments: population standard deviation (dynamo's sparse branch).
    std::vector<double> xs, ys;
    std::vector<size_t> in_fit;
    for (size_t g : fit) {
      const double mu = mean[g];
      double lm = 0, lcv = 0;
      if (mu != 0) {
        const double sigma = std::sqrt(std::max(0.0, mean_sq[g] - mu * mu));
        lm = std::log2(mu);
        lcv = std::log2(sigma / mu);
      }
      s.log_m[g] = lm;
      s.log_cv[g] = lcv;
      s.fit_log_m.push_back(lm);
      s.fit_log_cv.push_back(lcv);
      // A gene constant over the cells has log_cv = -inf: it cannot enter a regression.
      if (std::isfinite(lm) && std::isfinite(lcv)) {
        xs.push_back(lm);
        ys.push_back(lcv);
        in_fit.push_back(g);
      }
    }
    SvrOptions so = o;
    so.gamma = o.gamma > 0 ? o.gamma : 150.0 / static_cast<double>(fit.size());
    s.svr_gamma = so.gamma;
    const std::vector<double> predicted = fit_predict_svr(xs, ys, so);
    for (size_t t = 0; t < in_fit.size(); ++t) s.score[in_fit[t]] = ys[t] - predicted[t];
    s.svr_ran = true;
  }

  if (all_selected) {
    std::fill(s.use_for_pca.begin(), s.use_for_pca.end(), 1);
    return s;
  }
  // Threshold: the n_top-th largest finite score (the smallest one when fewer are finite); then the
  // genes scoring at least that, in var order, at most n_top of them.
  std::vector<double> finite;
  for (double v : s.score)
    if (std::isfinite(v)) finite.push_back(v);
  if (finite.empty()) return s;
  std::sort(finite.begin(), finite.end(), std::greater<double>());
  const double t = finite[std::min(finite.size(), static_cast<size_t>(n_top_genes)) - 1];
  int64_t taken = 0;
  for (size_t g = 0; g < G && taken < n_top_genes; ++g)
    if (std::isfinite(s.score[g]) && s.score[g] >= t) {
      s.use_for_pca[g] = 1;
      ++taken;
    }
  return s;
}

}  // namespace velofield::preprocess
