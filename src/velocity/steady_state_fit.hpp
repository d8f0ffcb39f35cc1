#pragma once
// dynamo's steady-state kinetic estimators for conventional (splicing-only) data, with beta = 1:
//  - stochastic (dynamo's default, est_method 'gmm'): the generalised method of moments combining
//    u = gamma·s with the second-moment equation u + 2·us = gamma·(2·ss - s), each weighted by the
//    inverse variance of its own zero-intercept OLS residuals;
//  - deterministic (est_method 'ols'): the zero-intercept OLS of u on s.
// Both fit on each gene's extreme cells (q = s/max s + u/max u at or beyond the chosen percentiles)
// and report the goodness of fit over all cells. Cells stay on their ranks: every per-gene
// quantity is an exact order statistic or a fixed-point sum reduced over ranks, so the result is
// bit-for-bit the same at any rank count.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct SteadyStateOptions {
  bool stochastic = true;                 // false: deterministic
  std::optional<double> perc_left;        // lower tail of extreme cells, percent (dynamo: None)
  std::optional<double> perc_right = 5;   // upper tail, percent (dynamo: 5)
  // Layer names (dynamo's).
  std::string m_s = "M_s", m_u = "M_u", m_ss = "M_ss", m_us = "M_us";
  // Cells × genes per block of genes fitted together (3 doubles each: s, u and the score): bounds
  // the working memory; the collectives run once per block, so fewer blocks mean fewer of them.
  int64_t max_block_values = int64_t{1} << 23;
};

struct SteadyStateFit {
  std::vector<int64_t> genes;           // var indices fitted, ascending
  std::vector<double> gamma;            // NaN where undefined (no signal on the extreme cells)
  std::vector<double> gamma_r2;         // over all cells; non-finite values set to 0 (dynamo)
  std::vector<double> gamma_logLL;      // dynamo's normal log-likelihood with sigma² = SSR
  std::vector<int64_t> extreme_cells;   // cells the fit used, per gene
};

// Collective. Throws velofield::Error (on every rank) for missing layers, shape mismatches and
// non-finite moments.
SteadyStateFit fit_steady_state(const Dataset& dataset, const std::vector<int64_t>& genes, const SteadyStateOptions& options);

}  // namespace velofield
