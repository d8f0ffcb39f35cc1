#include "velocity/models/latentvelo_genes.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "velocity/models/velovi_genes.hpp"

namespace velofield::models {

std::vector<uint8_t> dispersion_top_genes(const std::vector<double>& mean, const std::vector<double>& mean_sq,
                                          int64_t n_cells, int64_t n_top) {
  const size_t G = mean.size();
  std::vector<uint8_t> keep(G, 1);
  if (static_cast<int64_t>(G) <= n_top) return keep;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(n_cells);
  std::vector<double> log_mean(G), disp(G);
  for (size_t g = 0; g < G; ++g) {
    const double m = mean[g] == 0 ? 1e-12 : mean[g];
    const double var = std::max(0.0, mean_sq[g] - mean[g] * mean[g]) * (n > 1 ? n / (n - 1) : 1.0);
    const double d = var / m;
    disp[g] = d == 0 ? nan : std::log(d);
    log_mean[g] = std::log1p(m);
  }
  // pandas.cut(bins=20): equal widths over [min, max] (the edge extension does not move a gene).
  const auto [lo_it, hi_it] = std::minmax_element(log_mean.begin(), log_mean.end());
  const double lo = *lo_it, hi = *hi_it, width = (hi - lo) / 20;
  std::vector<int> bin(G);
  for (size_t g = 0; g < G; ++g)
    bin[g] = width > 0 ? std::min(19, std::max(0, static_cast<int>(std::ceil((log_mean[g] - lo) / width)) - 1)) : 0;
  std::vector<double> sum(20, 0), sum_sq(20, 0), count(20, 0);
  for (size_t g = 0; g < G; ++g)
    if (std::isfinite(disp[g])) {
      sum[static_cast<size_t>(bin[g])] += disp[g];
      sum_sq[static_cast<size_t>(bin[g])] += disp[g] * disp[g];
      count[static_cast<size_t>(bin[g])] += 1;
    }
  std::vector<double> norm(G, nan);
  for (size_t g = 0; g < G; ++g) {
    if (!std::isfinite(disp[g])) continue;
    const size_t b = static_cast<size_t>(bin[g]);
    double m = sum[b] / count[b];
    double sd = count[b] > 1 ? std::sqrt(std::max(0.0, (sum_sq[b] - count[b] * m * m) / (count[b] - 1))) : nan;
    if (count[b] == 1) {   // scVelo: a one-gene bin gets normalised dispersion 1
      sd = m;
      m = 0;
    }
    norm[g] = (disp[g] - m) / sd;
  }
  std::vector<double> finite;
  for (double v : norm)
    if (std::isfinite(v)) finite.push_back(v);
  std::fill(keep.begin(), keep.end(), 0);
  if (finite.empty()) return keep;
  std::sort(finite.begin(), finite.end(), std::greater<double>());
  const double cut = finite[static_cast<size_t>(std::min<int64_t>(n_top, static_cast<int64_t>(finite.size())) - 1)];
  for (size_t g = 0; g < G; ++g) keep[g] = std::isfinite(norm[g]) && norm[g] >= cut;
  return keep;
}

LatentveloGene latentvelo_gene(const float* ms, const float* mu, int64_t n) {
  LatentveloGene r;
  double s_max = 0, u_max = 0, s_mean = 0, u_mean = 0;
  for (int64_t i = 0; i < n; ++i) {
    s_max = std::max(s_max, static_cast<double>(ms[i]));
    u_max = std::max(u_max, static_cast<double>(mu[i]));
    s_mean += ms[i];
    u_mean += mu[i];
    r.both_positive += ms[i] > 0 && mu[i] > 0;
  }
  s_mean /= static_cast<double>(n);
  u_mean /= static_cast<double>(n);
  r.expressed = s_max > 0 && u_max > 0;
  std::vector<double> extreme(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    extreme[static_cast<size_t>(i)] = (u_max > 0 ? mu[i] / u_max : 0.0) + (s_max > 0 ? ms[i] / s_max : 0.0);
  const double threshold = numpy_percentile(extreme, 95);
  double wus = 0, wss = 0, us = 0, ss = 0, var_s = 0, var_u = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double s = ms[i], u = mu[i];
    if (extreme[static_cast<size_t>(i)] >= threshold) {
      wus += u * s;
      wss += s * s;
    }
    us += u * s;
    ss += s * s;
    var_s += (s - s_mean) * (s - s_mean);
    var_u += (u - u_mean) * (u - u_mean);
  }
  r.gamma_quantile = wss > 0 ? wus / wss : 0;
  r.gamma_ref = ss > 0 ? us / ss : 0;
  double res = 0;
  for (int64_t i = 0; i < n; ++i) res += std::pow(mu[i] - r.gamma_ref * ms[i], 2);
  r.r2 = var_u > 0 ? 1 - res / var_u : 0;
  r.sd_s = std::sqrt(var_s / static_cast<double>(n));
  r.sd_u = std::sqrt(var_u / static_cast<double>(n));
  r.scaling = r.sd_s > 0 ? r.sd_u / r.sd_s : std::numeric_limits<double>::quiet_NaN();
  return r;
}

std::vector<uint8_t> latentvelo_velocity_genes(const std::vector<LatentveloGene>& genes) {
  std::vector<double> scalings;
  for (const auto& g : genes)
    if (std::isfinite(g.scaling)) scalings.push_back(g.scaling);
  const double lo = scalings.empty() ? 0 : std::min(numpy_percentile(scalings, 10), 0.03);
  const double hi = scalings.empty() ? 0 : std::max(numpy_percentile(scalings, 90), 3.0);
  const double min_cells = 0.05 * static_cast<double>(genes.size());
  std::vector<uint8_t> keep(genes.size(), 0);
  for (size_t k = 0; k < genes.size(); ++k) {
    const LatentveloGene& g = genes[k];
    keep[k] = g.r2 > 0.01 && g.r2 < 0.95 && g.gamma_quantile > 0.01 && g.gamma_ref > 0.01 && g.expressed &&
              std::isfinite(g.scaling) && g.scaling > lo && g.scaling < hi && static_cast<double>(g.both_positive) > min_cells;
  }
  return keep;
}

}  // namespace velofield::models
