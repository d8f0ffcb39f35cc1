#include "velocity/steady_state_fit.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "steady_state_block.hpp"
#include "velocity/distributed_percentile.hpp"
#include "velocity/layer_reader.hpp"

namespace velofield {

namespace {

using namespace kernels;

constexpr double kLogTwoPi = 1.8378770664093454835606594728112;

std::string layer_list(const Dataset& d) {
  std::string out;
  for (const auto& kv : d.layers) out += (out.empty() ? "" : ", ") + kv.first;
  return out.empty() ? "none" : out;
}

const Matrix& moment_layer(const Dataset& d, const std::string& name, const std::string& why) {
  auto it = d.layers.find(name);
  if (it == d.layers.end())
    fail(d.source, "layers/" + name,
         "layer not present: " + why + "; run the moments stage first (this file has layers: " + layer_list(d) + ")");
  if (matrix_rows(it->second) != d.n_obs_local || matrix_cols(it->second) != d.n_vars)
    fail(d.source, "layers/" + name, "expected " + std::to_string(d.n_obs) + " × " + std::to_string(d.n_vars) + " values");
  return it->second;
}

// Fixed-point sums of several terms per gene, all-reduced together and decoded: each term's scale
// comes from a bound every rank computes alike.
class FixedSums {
 public:
  FixedSums(int64_t genes, int terms) : terms_(terms), raw_(static_cast<size_t>(genes * 2 * terms)), exponents_(static_cast<size_t>(genes * terms), 0) {}
  // Sets the exponents of gene g's terms from their bounds and writes their scales to `scales`.
  void set_bounds(int64_t g, double* scales, std::initializer_list<double> bounds) {
    int t = 0;
    for (double b : bounds) {
      exponents_[static_cast<size_t>(g * terms_ + t)] = fixed_point_exponent(b);
      scales[t] = fixed_point_scale(exponents_[static_cast<size_t>(g * terms_ + t)]);
      ++t;
    }
    for (; t < terms_; ++t) scales[t] = 0;
  }
  int64_t* raw() { return raw_.data(); }
  size_t size() const { return raw_.size(); }
  double value(int64_t g, int t) const {
    const int64_t* r = raw_.data() + (g * terms_ + t) * 2;
    return fixed_point_value(r[0], r[1], exponents_[static_cast<size_t>(g * terms_ + t)]);
  }

 private:
  int terms_;
  std::vector<int64_t> raw_;
  std::vector<int> exponents_;
};

// All-reduces several int64 buffers with one collective.
void sum_over_ranks(MPI_Comm comm, std::initializer_list<std::pair<int64_t*, size_t>> parts) {
  std::vector<int64_t> all;
  for (const auto& p : parts) all.insert(all.end(), p.first, p.first + p.second);
  MPI_Allreduce(MPI_IN_PLACE, all.data(), static_cast<int>(all.size()), MPI_INT64_T, MPI_SUM, comm);
  size_t at = 0;
  for (const auto& p : parts) {
    std::copy_n(all.data() + at, p.second, p.first);
    at += p.second;
  }
}

double finite_or_zero(double x) { return std::isfinite(x) ? x : 0.0; }

}  // namespace

SteadyStateFit fit_steady_state(const Dataset& d, const std::vector<int64_t>& genes, const SteadyStateOptions& o) {
  const std::string model = o.stochastic ? "stochastic" : "deterministic";
  const std::string why = o.stochastic
                              ? "the stochastic estimator needs the first moments M_s, M_u and the second moments M_ss, M_us "
                                "(or use --method deterministic, which needs only M_s and M_u)"
                              : "the deterministic estimator needs the first moments M_s and M_u";
  LayerReader s_layer(moment_layer(d, o.m_s, why));
  LayerReader u_layer(moment_layer(d, o.m_u, why));
  std::optional<LayerReader> ss_layer, us_layer;
  if (o.stochastic) {
    ss_layer.emplace(moment_layer(d, o.m_ss, why));
    us_layer.emplace(moment_layer(d, o.m_us, why));
  }
  if (!o.perc_left && !o.perc_right) throw Error("internal: steady-state fit without a tail");

  const MPI_Comm comm = d.comm;
  const int64_t n = d.n_obs_local, N = d.n_obs, G = static_cast<int64_t>(genes.size());
  SteadyStateFit fit;
  fit.genes = genes;
  fit.gamma.assign(static_cast<size_t>(G), std::nan(""));
  fit.gamma_r2.assign(static_cast<size_t>(G), 0.0);
  fit.gamma_logLL.assign(static_cast<size_t>(G), std::nan(""));
  fit.extreme_cells.assign(static_cast<size_t>(G), 0);
  if (G == 0) return fit;

  // Every rank uses the same block size (the collectives below go block by block). At least 16
  // genes a block: a dense float32 row then yields whole cache lines, so reading the layers block
  // by block costs one pass over them in all.
  const int64_t widest = d.partition().size(0);
  const int64_t block = std::min<int64_t>(G, std::max<int64_t>(16, o.max_block_values / std::max<int64_t>(1, widest)));
  // Uninitialised: every value is written by read_columns / extreme_scores before it is read.
  const size_t buffer = static_cast<size_t>(block * n);
  std::unique_ptr<double[]> vs(new double[buffer]), vu(new double[buffer]), q(new double[buffer]);
  ColumnExtremes es, eu;
  for (int64_t first = 0; first < G; first += block) {
    const int64_t nb = std::min(block, G - first);
    const size_t B = static_cast<size_t>(nb);
    const int64_t* cols = genes.data() + first;
    s_layer.read_columns(cols, nb, vs.get(), &es);
    u_layer.read_columns(cols, nb, vu.get(), &eu);
    const MomentBlock mb{nb, n, vs.get(), vu.get()};

    // Per gene, over all ranks: max s and max u (the extreme score's normalisers), max |s| and
    // |u| (bounds of the fixed-point sums), and whether any s or u is NaN/Inf.
    constexpr int kStats = 5;
    std::vector<double> ext(B * kStats);
    for (size_t g = 0; g < B; ++g) {
      double* e = &ext[g * kStats];
      e[0] = es.max[g];
      e[1] = eu.max[g];
      e[2] = es.max_abs[g];
      e[3] = eu.max_abs[g];
      e[4] = static_cast<double>(es.non_finite[g] + eu.non_finite[g]);
    }
    MPI_Allreduce(MPI_IN_PLACE, ext.data(), static_cast<int>(ext.size()), MPI_DOUBLE, MPI_MAX, comm);
    for (size_t g = 0; g < B; ++g)
      if (ext[g * kStats + 4] > 0)
        fail(d.source, "layers/" + o.m_s + ", " + o.m_u,
             "NaN/Inf moments for gene '" + d.var.index[static_cast<size_t>(cols[g])] + "' (moments must be finite: recompute them)");
    auto ms = [&](int64_t g) { return ext[static_cast<size_t>(g * kStats + 2)]; };
    auto mu = [&](int64_t g) { return ext[static_cast<size_t>(g * kStats + 3)]; };

    // dynamo's extreme score, and over all cells the sums r² needs (u², us, s², u).
    std::vector<double> norm_s(B), norm_u(B), score_scales(B * kScoreTerms);
    FixedSums all_cells(nb, kScoreTerms);
    for (size_t g = 0; g < B; ++g) {
      norm_s[g] = std::max(ext[g * kStats + 0], 1e-3);
      norm_u[g] = std::max(ext[g * kStats + 1], 1e-3);
      const int64_t gg = static_cast<int64_t>(g);
      all_cells.set_bounds(gg, &score_scales[g * kScoreTerms], {mu(gg) * mu(gg), mu(gg) * ms(gg), ms(gg) * ms(gg), mu(gg)});
    }
    std::vector<ScoreRange> ranges(B);
    extreme_scores(mb, norm_s.data(), norm_u.data(), score_scales.data(), q.get(), all_cells.raw(), ranges.data());
    // What the percentile selection may skip: the zeros and the leading bits the positive scores share.
    std::vector<PercentileHint> hints(B);
    std::vector<int64_t> signs(2 * B);
    std::vector<double> extent(2 * B);
    for (size_t g = 0; g < B; ++g) {
      hints[g].local_negative = signs[2 * g] = ranges[g].negative;
      hints[g].local_zero = signs[2 * g + 1] = ranges[g].zero;
      extent[2 * g] = -ranges[g].min_positive;
      extent[2 * g + 1] = ranges[g].max;
    }
    MPI_Allreduce(MPI_IN_PLACE, signs.data(), static_cast<int>(signs.size()), MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, extent.data(), static_cast<int>(extent.size()), MPI_DOUBLE, MPI_MAX, comm);
    for (size_t g = 0; g < B; ++g) {
      hints[g].negative = signs[2 * g];
      hints[g].zero = signs[2 * g + 1];
      hints[g].min_positive = -extent[2 * g];
      hints[g].max = extent[2 * g + 1];
    }

    // Extreme cells: at or beyond the score percentiles, listed with their moments.
    std::vector<ExtremeTails> tails(B);
    std::vector<int64_t> counts(B, 0), offsets(B + 1, 0);
    PercentileResult upper, lower;
    if (o.perc_right) {
      upper = distributed_percentile(comm, nb, n, q.get(), N, 100.0 - *o.perc_right, hints.data());
      for (size_t g = 0; g < B; ++g) tails[g].upper = upper.value[g];
    }
    if (o.perc_left) {
      lower = distributed_percentile(comm, nb, n, q.get(), N, *o.perc_left, hints.data());
      for (size_t g = 0; g < B; ++g) tails[g].lower = lower.value[g];
    }
    for (size_t g = 0; g < B; ++g) {
      tails[g].use_upper = o.perc_right ? 1 : 0;
      tails[g].use_lower = o.perc_left ? 1 : 0;
      // This rank's extreme cells, known from the selection (the two tails overlap only when they
      // cross, and then they cover every cell).
      if (o.perc_right && o.perc_left) counts[g] = tails[g].lower < tails[g].upper ? upper.local_at_or_above[g] + lower.local_at_or_below[g] : n;
      else counts[g] = o.perc_right ? upper.local_at_or_above[g] : lower.local_at_or_below[g];
      offsets[g + 1] = offsets[g] + counts[g];
    }
    const size_t picked = static_cast<size_t>(offsets[B]);
    std::vector<int64_t> cells(picked);
    std::vector<double> xs(picked), xu(picked), xss, xus;
    extreme_cells(mb, q.get(), tails.data(), counts.data(), cells.data(), xs.data(), xu.data());
    // Second moments of the extreme cells only, read row by row from the layers, with their bounds.
    std::vector<double> second(2 * B, 0.0);   // max |ss|, max |us| per gene
    if (o.stochastic) {
      std::vector<int64_t> row_ptr(static_cast<size_t>(n + 1), 0), pos(picked), slot(picked);
      for (int64_t c : cells) ++row_ptr[static_cast<size_t>(c + 1)];
      for (int64_t i = 0; i < n; ++i) row_ptr[static_cast<size_t>(i + 1)] += row_ptr[static_cast<size_t>(i)];
      std::vector<int64_t> next(row_ptr.begin(), row_ptr.end() - 1);
      for (size_t g = 0; g < B; ++g)   // genes ascend, so each row's positions come out ascending
        for (int64_t k = offsets[g]; k < offsets[g + 1]; ++k) {
          const int64_t at = next[static_cast<size_t>(cells[static_cast<size_t>(k)])]++;
          pos[static_cast<size_t>(at)] = static_cast<int64_t>(g);
          slot[static_cast<size_t>(at)] = k;
        }
      std::vector<double> row_major(picked);
      xss.resize(picked);
      xus.resize(picked);
      ss_layer->read_entries(row_ptr.data(), pos.data(), cols, row_major.data());
      for (size_t k = 0; k < picked; ++k) xss[static_cast<size_t>(slot[k])] = row_major[k];
      us_layer->read_entries(row_ptr.data(), pos.data(), cols, row_major.data());
      for (size_t k = 0; k < picked; ++k) xus[static_cast<size_t>(slot[k])] = row_major[k];
      bool finite = true;
      for (size_t g = 0; g < B; ++g)
        for (int64_t k = offsets[g]; k < offsets[g + 1]; ++k) {
          const double a = xss[static_cast<size_t>(k)], b = xus[static_cast<size_t>(k)];
          finite = finite && std::isfinite(a) && std::isfinite(b);
          second[2 * g] = std::max(second[2 * g], std::fabs(a));
          second[2 * g + 1] = std::max(second[2 * g + 1], std::fabs(b));
        }
      second.push_back(finite ? 0.0 : 1.0);
      MPI_Allreduce(MPI_IN_PLACE, second.data(), static_cast<int>(second.size()), MPI_DOUBLE, MPI_MAX, comm);
      if (second.back() > 0) fail(d.source, "layers/" + o.m_ss + ", " + o.m_us, "NaN/Inf second moments (moments must be finite: recompute them)");
    }
    // Bounds of y1 = u, x1 = s, y2 = u + 2us, x2 = 2ss - s on the extreme cells.
    auto by1 = [&](int64_t g) { return mu(g); };
    auto bx1 = [&](int64_t g) { return ms(g); };
    auto by2 = [&](int64_t g) { return mu(g) + 2 * second[static_cast<size_t>(2 * g + 1)]; };
    auto bx2 = [&](int64_t g) { return 2 * second[static_cast<size_t>(2 * g)] + ms(g); };
    const ExtremeBlock xb{nb, offsets.data(), xs.data(), xu.data(), o.stochastic ? xss.data() : nullptr, o.stochastic ? xus.data() : nullptr};

    // Moments of the extreme cells (all-reduced with the all-cell sums and the cell counts).
    std::vector<FitGeneParams> params(B);
    FixedSums moments(nb, kFitTerms);
    for (int64_t g = 0; g < nb; ++g) {
      double* scale = params[static_cast<size_t>(g)].scale;
      if (o.stochastic)
        moments.set_bounds(g, scale, {by1(g) * bx1(g), bx1(g) * bx1(g), by2(g) * bx2(g), bx2(g) * bx2(g), by1(g), bx1(g), by2(g), bx2(g)});
      else moments.set_bounds(g, scale, {by1(g) * bx1(g), bx1(g) * bx1(g)});
    }
    steady_state_sums(xb, o.stochastic ? FitPass::gmm_moments : FitPass::ols_moments, params.data(), moments.raw());
    sum_over_ranks(comm, {{moments.raw(), moments.size()}, {all_cells.raw(), all_cells.size()}, {counts.data(), B}});
    std::vector<double> gamma(B, std::nan(""));
    if (o.stochastic) {
      // Zero-intercept OLS of each equation (numpy: mean(y x) / mean(x²)), then the spread of their
      // residuals e = y - k x (population variance about their mean, as numpy's var; the mean is
      // (sum y - k sum x) / m from the same sums).
      std::vector<double> k1(B), k2(B);
      FixedSums spread(nb, kFitTerms);
      for (int64_t g = 0; g < nb; ++g) {
        const size_t ug = static_cast<size_t>(g);
        const double m = static_cast<double>(counts[ug]);
        k1[ug] = (moments.value(g, 0) / m) / (moments.value(g, 1) / m);
        k2[ug] = (moments.value(g, 2) / m) / (moments.value(g, 3) / m);
        auto& p = params[ug];
        p.k1 = finite_or_zero(k1[ug]);
        p.k2 = finite_or_zero(k2[ug]);
        p.c1 = (moments.value(g, 4) - p.k1 * moments.value(g, 5)) / m;
        p.c2 = (moments.value(g, 6) - p.k2 * moments.value(g, 7)) / m;
        const double r1 = by1(g) + std::fabs(p.k1) * bx1(g) + std::fabs(p.c1);
        const double r2 = by2(g) + std::fabs(p.k2) * bx2(g) + std::fabs(p.c2);
        spread.set_bounds(g, p.scale, {r1 * r1, r2 * r2});
      }
      steady_state_sums(xb, FitPass::residual_spread, params.data(), spread.raw());
      sum_over_ranks(comm, {{spread.raw(), spread.size()}});
      for (int64_t g = 0; g < nb; ++g) {
        const size_t ug = static_cast<size_t>(g);
        if (!std::isfinite(k1[ug]) || !std::isfinite(k2[ug])) continue;
        const double m = static_cast<double>(counts[ug]);
        const double v1 = spread.value(g, 0) / m, v2 = spread.value(g, 1) / m;
        // numpy's pinv of diag(v1, v2): singular values at most 1e-15 · max get weight 0.
        const double cutoff = 1e-15 * std::max(v1, v2);
        const double w1 = v1 > cutoff ? 1 / v1 : 0, w2 = v2 > cutoff ? 1 / v2 : 0;
        const double num = w1 * moments.value(g, 0) + w2 * moments.value(g, 2);
        const double den = w1 * moments.value(g, 1) + w2 * moments.value(g, 3);
        if (den != 0) gamma[ug] = num / den;
      }
    } else {
      for (int64_t g = 0; g < nb; ++g) {
        const double m = static_cast<double>(counts[static_cast<size_t>(g)]);
        const double k = (moments.value(g, 0) / m) / (moments.value(g, 1) / m);
        if (std::isfinite(k)) gamma[static_cast<size_t>(g)] = k;
      }
    }

    // Goodness of fit over all cells from the exact sums: SSR = sum u² - 2 gamma sum us + gamma² sum s²,
    // SST = sum u² - (sum u)² / N; r² = 1 - SSR / SST.
    for (int64_t g = 0; g < nb; ++g) {
      const size_t out = static_cast<size_t>(first + g);
      const double gm = gamma[static_cast<size_t>(g)];
      fit.extreme_cells[out] = counts[static_cast<size_t>(g)];
      fit.gamma[out] = gm;
      if (std::isnan(gm)) continue;
      const double uu = all_cells.value(g, 0), us = all_cells.value(g, 1), ss = all_cells.value(g, 2), su = all_cells.value(g, 3);
      const double ssr = std::max(0.0, uu - 2 * gm * us + gm * gm * ss);
      const double sst = uu - su * (su / static_cast<double>(N));
      fit.gamma_r2[out] = finite_or_zero(1 - ssr / sst);
      const double half_n = static_cast<double>(N) / 2;
      fit.gamma_logLL[out] = -half_n * kLogTwoPi - half_n * std::log(ssr) - 0.5;
    }
    log().progress("dynamics: " + model + " fit, genes", first + nb, G);
  }
  return fit;
}

}  // namespace velofield
