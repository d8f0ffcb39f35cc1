#pragma once
// dynamo's `cv_dispersion` feature selection (velocyto's SVR): log2 mean vs log2 coefficient of
// variation of the normalised (not logged) expression, an RBF epsilon-SVR fit through the cloud
// (libsvm, the library sklearn's SVR wraps, with sklearn's defaults), score = log_cv − fit(log_m).
// Pure functions of the per-gene statistics: the caller reduces those over ranks.
#include <cstdint>
#include <vector>

namespace velofield::preprocess {

struct SvrOptions {
  double gamma = -1;       // RBF gamma; <= 0: 150 / (number of genes in the fit), as dynamo
  double C = 1.0;          // sklearn SVR defaults
  double epsilon = 0.1;
  double tol = 1e-3;
  double cache_mb = 200;
};

// Fits y ≈ f(x) with an RBF epsilon-SVR and returns f at every x.
std::vector<double> fit_predict_svr(const std::vector<double>& x, const std::vector<double>& y, const SvrOptions& options);

struct GeneSelection {
  // Per gene (all G); genes outside the fit get NaN, NaN, -inf (dynamo's fill).
  std::vector<double> log_m, log_cv, score;
  std::vector<uint8_t> use_for_pca;
  // The fit's inputs, in var order over the fitted genes (dynamo's uns velocyto_SVR mean / cv).
  std::vector<double> fit_log_m, fit_log_cv;
  double svr_gamma = 0;
  int64_t n_fitted = 0;
  bool svr_ran = false;
};

// `mean`, `mean_sq`: per-gene E[x] and E[x²] over the cells (population moments of the normalised
// expression); `candidates`: var.pass_basic_filter. With G <= n_top_genes every gene is selected (as
// dynamo does), the SVR scores are still computed when `score_when_all_selected`.
GeneSelection select_genes_by_svr(const std::vector<double>& mean, const std::vector<double>& mean_sq,
                                  const std::vector<uint8_t>& candidates, int64_t n_top_genes, const SvrOptions& options,
                                  bool score_when_all_selected = true);

}  // namespace velofield::preprocess
