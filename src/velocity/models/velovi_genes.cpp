#include "velocity/models/velovi_genes.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace velofield::models {

double numpy_percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double pos = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double t = pos - static_cast<double>(lo), a = values[lo], b = values[hi], diff = b - a;
  // numpy's _lerp: from the upper end when t >= 0.5, so that the result is exact at t = 1.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

namespace {

// scikit-learn's MinMaxScaler for one column: scale_ = 1 / range (1 when the range is 0),
// min_ = −min · scale_, applied as x · scale_ + min_.
void min_max(const float* x, int64_t n, double& scale, double& offset, std::vector<double>& out) {
  double lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min<double>(lo, x[i]);
    hi = std::max<double>(hi, x[i]);
  }
  const double range = hi - lo;
  scale = range == 0 ? 1.0 : 1.0 / range;
  offset = -lo * scale;
  out.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = x[i] * scale + offset;
}

double median(std::vector<double> v) {
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  const double upper = v[m];
  if (v.size() % 2) return upper;
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m)) + upper) / 2;
}

}  // namespace

VeloviGeneStats velovi_gene_stats(const float* s_raw, const float* u_raw, int64_t n) {
  VeloviGeneStats g;
  if (n < 1) return g;
  std::vector<double> s, u;
  min_max(s_raw, n, g.s_scale, g.s_offset, s);
  min_max(u_raw, n, g.u_scale, g.u_offset, u);
  const double s_max = *std::max_element(s.begin(), s.end()), u_max = *std::max_element(u.begin(), u.end());
  g.expressed = s_max > 0 && u_max > 0;

  // scVelo's LinearRegression without intercept keeps only the upper extreme: cells whose
  // s/max(s) + u/max(u) (maxima clipped at ≥ 1e-3) is at or above the 95th percentile.
  std::vector<double> score(s.size());
  for (size_t i = 0; i < s.size(); ++i) score[i] = s[i] / std::max(s_max, 1e-3) + u[i] / std::max(u_max, 1e-3);
  const double cut = numpy_percentile(score, 95);
  double us = 0, ss = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (score[i] >= cut) {
      us += u[i] * s[i];
      ss += s[i] * s[i];
    }
  g.gamma = us / ss;   // NaN when the extreme cells have no spliced signal: such a gene is dropped
  const double u_mean = std::accumulate(u.begin(), u.end(), 0.0) / static_cast<double>(n);
  double res = 0, tot = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    res += (u[i] - g.gamma * s[i]) * (u[i] - g.gamma * s[i]);
    tot += (u[i] - u_mean) * (u[i] - u_mean);
  }
  g.r2 = 1 - res / tot;
  if (std::isnan(g.r2)) g.r2 = 0;   // scVelo: r2[isnan(r2)] = 0 (0/0: a constant u)

  // VELOVI.__init__: argsort of u (ties by cell index here: numpy's quicksort order is unspecified),
  // the cells from index int(0.99·N) on, median of u and of s over them.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return u[static_cast<size_t>(a)] < u[static_cast<size_t>(b)]; });
  std::vector<double> top_u, top_s;
  for (int64_t k = static_cast<int64_t>(static_cast<double>(n) * 0.99); k < n; ++k) {
    top_u.push_back(u[static_cast<size_t>(order[static_cast<size_t>(k)])]);
    top_s.push_back(s[static_cast<size_t>(order[static_cast<size_t>(k)])]);
  }
  g.u_up = median(top_u);
  g.s_up = median(top_s);
  return g;
}

std::vector<uint8_t> velovi_gene_selection(const std::vector<VeloviGeneStats>& stats,
                                           const std::vector<uint8_t>* highly_variable) {
  const size_t G = stats.size();
  std::vector<uint8_t> velocity_genes(G), keep(G);
  size_t passing = 0;
  for (size_t g = 0; g < G; ++g) {
    velocity_genes[g] = stats[g].r2 > 0.01 && stats[g].gamma > 0.01 && stats[g].expressed &&
                        (!highly_variable || (*highly_variable)[g]);
    passing += velocity_genes[g];
  }
  if (passing < 2 && G > 0) {   // scVelo's fallback: the top fifth of genes by r²
    std::vector<double> r2(G);
    for (size_t g = 0; g < G; ++g) r2[g] = stats[g].r2;
    const double min_r2 = numpy_percentile(r2, 80);
    for (size_t g = 0; g < G; ++g) velocity_genes[g] = stats[g].r2 > min_r2;
  }
  for (size_t g = 0; g < G; ++g) keep[g] = velocity_genes[g] && stats[g].r2 > 0 && stats[g].gamma > 0;
  return keep;
}

}  // namespace velofield::models
