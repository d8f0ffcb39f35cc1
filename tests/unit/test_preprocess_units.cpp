// Preprocessing pieces with closed-form answers: the block Krylov eigensolver against a matrix of
// known spectrum, the SVR against a smooth curve and dynamo's selection rules, the marker-case
// rule, and the PCA of a tiny matrix against its hand-computed covariance.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <limits>
#include <random>

#include "preprocess/block_krylov.hpp"
#include "preprocess/cell_cycle.hpp"
#include "preprocess/gene_selection.hpp"
#include "preprocess/pca.hpp"

using namespace velofield;
using namespace velofield::preprocess;

namespace {

// A = Q diag(λ) Qᵀ with Q from Householder reflections (orthogonal by construction).
std::vector<double> known_spectrum_matrix(int64_t n, const std::vector<double>& lambda, std::vector<double>& Q) {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal;
  Q.assign(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) Q[static_cast<size_t>(i * n + i)] = 1.0;
  for (int r = 0; r < 3; ++r) {
    std::vector<double> v(static_cast<size_t>(n));
    double nn = 0;
    for (auto& x : v) x = normal(gen), nn += x * x;
    for (auto& x : v) x /= std::sqrt(nn);
    // Q ← (I − 2vvᵀ) Q, column by column (column-major).
    for (int64_t c = 0; c < n; ++c) {
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += v[static_cast<size_t>(i)] * Q[static_cast<size_t>(c * n + i)];
      for (int64_t i = 0; i < n; ++i) Q[static_cast<size_t>(c * n + i)] -= 2 * dot * v[static_cast<size_t>(i)];
    }
  }
  std::vector<double> A(static_cast<size_t>(n * n), 0.0);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < n; ++c)
      for (int64_t r = 0; r < n; ++r)
        A[static_cast<size_t>(c * n + r)] += Q[static_cast<size_t>(t * n + r)] * lambda[static_cast<size_t>(t)] * Q[static_cast<size_t>(t * n + c)];
  return A;
}

}  // namespace

TEST(BlockKrylov, FindsTheTopEigenpairsOfAKnownSpectrum) {
  const int64_t n = 600;
  std::vector<double> lambda(static_cast<size_t>(n));
  // A slowly decaying tail with close eigenvalues, like a PCA spectrum.
  for (int64_t i = 0; i < n; ++i) lambda[static_cast<size_t>(i)] = 1.0 / (1.0 + 0.3 * static_cast<double>(i)) + 1e-3 * std::sin(static_cast<double>(i));
  std::vector<double> Q;
  const std::vector<double> A = known_spectrum_matrix(n, lambda, Q);
  std::vector<double> sorted = lambda;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  TopEigenOptions o;
  o.k = 12;
  o.max_basis = 160;   // below n: the Krylov path with restarts
  int applies = 0;
  const TopEigenResult r = top_eigenpairs(n, [&](const double* X, int b, double* Y) {
    ++applies;
    for (int c = 0; c < b; ++c)
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += A[static_cast<size_t>(j * n + i)] * X[c * n + j];
        Y[c * n + i] = s;
      }
  }, o);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.applies, applies);
  for (int j = 0; j < o.k; ++j) EXPECT_NEAR(r.values[static_cast<size_t>(j)], sorted[static_cast<size_t>(j)], 1e-12) << j;
  // Residuals of the returned vectors, directly.
  for (int j = 0; j < o.k; ++j) {
    double res = 0, nrm = 0;
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t t = 0; t < n; ++t) s += A[static_cast<size_t>(t * n + i)] * r.vectors[static_cast<size_t>(j * n + t)];
      res += std::pow(s - r.values[static_cast<size_t>(j)] * r.vectors[static_cast<size_t>(j * n + i)], 2);
      nrm += std::pow(r.vectors[static_cast<size_t>(j * n + i)], 2);
    }
    EXPECT_NEAR(nrm, 1.0, 1e-12);
    EXPECT_LE(std::sqrt(res), 1e-11);
  }
  // The dense path gives the same values.
  const TopEigenResult dense = top_eigenpairs_dense(n, A, o.k);
  for (int j = 0; j < o.k; ++j) EXPECT_NEAR(dense.values[static_cast<size_t>(j)], r.values[static_cast<size_t>(j)], 1e-12);
}

TEST(BlockKrylov, SmallProblemsGoStraightToLapack) {
  const int64_t n = 40;
  std::vector<double> lambda(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) lambda[static_cast<size_t>(i)] = static_cast<double>(n - i);
  std::vector<double> Q;
  const std::vector<double> A = known_spectrum_matrix(n, lambda, Q);
  TopEigenOptions o;
  o.k = 5;
  const TopEigenResult r = top_eigenpairs(n, [&](const double* X, int b, double* Y) {
    for (int c = 0; c < b; ++c)
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += A[static_cast<size_t>(j * n + i)] * X[c * n + j];
        Y[c * n + i] = s;
      }
  }, o);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(r.values[static_cast<size_t>(j)], static_cast<double>(n - j), 1e-10);
}

TEST(Svr, FitsASmoothCurveWithinEpsilon) {
  std::vector<double> x, y;
  for (int i = 0; i < 400; ++i) {
    x.push_back(-4.0 + 8.0 * i / 399.0);
    y.push_back(std::sin(x.back()) * 0.5 - 0.1 * x.back());
  }
  SvrOptions o;
  o.gamma = 1.0;
  o.C = 10.0;
  const std::vector<double> f = fit_predict_svr(x, y, o);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(f[i] - y[i]));
  EXPECT_LE(worst, o.epsilon + 0.02);
}

TEST(Svr, SelectionFollowsDynamosRules) {
  // 50 genes: Poisson-like CV ~ 1/sqrt(mean), gene 7 far noisier, genes 3 and 4 outside the fit.
  const size_t G = 50;
  std::vector<double> mean(G), mean_sq(G);
  std::vector<uint8_t> candidates(G, 1);
  for (size_t g = 0; g < G; ++g) {
    mean[g] = 0.1 * std::pow(1.15, static_cast<double>(g));
    const double var = mean[g] * (g == 7 ? 40.0 : 1.0);
    mean_sq[g] = var + mean[g] * mean[g];
  }
  candidates[3] = candidates[4] = 0;
  SvrOptions o;
  const GeneSelection s = select_genes_by_svr(mean, mean_sq, candidates, 10, o);
  EXPECT_EQ(s.n_fitted, 48);
  EXPECT_DOUBLE_EQ(s.svr_gamma, 150.0 / 48.0);
  EXPECT_TRUE(std::isnan(s.log_m[3]) && std::isnan(s.log_cv[3]));
  EXPECT_EQ(s.score[4], -std::numeric_limits<double>::infinity());
  EXPECT_NEAR(s.log_m[10], std::log2(mean[10]), 1e-12);
  EXPECT_NEAR(s.log_cv[10], std::log2(std::sqrt(mean_sq[10] - mean[10] * mean[10]) / mean[10]), 1e-12);
  int selected = 0;
  for (auto u : s.use_for_pca) selected += u;
  EXPECT_EQ(selected, 10);
  EXPECT_EQ(s.use_for_pca[7], 1) << "the noisiest gene must be selected";
  EXPECT_EQ(s.use_for_pca[3], 0);
  // Every selected gene scores at least as high as every unselected fitted gene.
  double lowest_in = 1e300, highest_out = -1e300;
  for (size_t g = 0; g < G; ++g) {
    if (!std::isfinite(s.score[g])) continue;
    if (s.use_for_pca[g]) lowest_in = std::min(lowest_in, s.score[g]);
    else highest_out = std::max(highest_out, s.score[g]);
  }
  EXPECT_GE(lowest_in, highest_out);
  // With no more genes than n_top_genes, every gene is selected (dynamo's rule).
  const GeneSelection all = select_genes_by_svr(mean, mean_sq, candidates, 50, o);
  for (auto u : all.use_for_pca) EXPECT_EQ(u, 1);
}

TEST(CellCycle, MarkerCaseFollowsTheFirstGeneName) {
  const std::vector<std::string> m{"TOP2A", "HIST1H2AC"};
  EXPECT_EQ(adapt_marker_case(m, "GCG"), m);
  EXPECT_EQ(adapt_marker_case(m, "Gcg"), (std::vector<std::string>{"Top2a", "Hist1h2ac"}));
  EXPECT_EQ(adapt_marker_case(m, "gcg"), (std::vector<std::string>{"top2a", "hist1h2ac"}));
  EXPECT_EQ(adapt_marker_case(m, "Rp11-34P13.7"), (std::vector<std::string>{"top2a", "hist1h2ac"}));
  ASSERT_EQ(cell_cycle_phases().size(), 5u);
  EXPECT_EQ(cell_cycle_phases()[2].name, "G2-M");
}

TEST(Pca, TinyMatrixMatchesItsCovariance) {
  // 6 cells × 3 genes, one rank: covariance eigenvalues by hand via the dense path.
  const double rows[6][3] = {{1, 0, 2}, {0, 3, 1}, {2, 1, 0}, {4, 0, 1}, {0, 0, 5}, {1, 2, 2}};
  CsrMatrix X = CsrMatrix::with_shape(6, 3, DType::f32);
  X.indptr = {0};
  std::vector<int32_t> idx;
  std::vector<float> val;
  for (auto& r : rows) {
    for (int j = 0; j < 3; ++j)
      if (r[j] != 0) idx.push_back(j), val.push_back(static_cast<float>(r[j]));
    X.indptr.push_back(static_cast<int64_t>(idx.size()));
  }
  X.indices = Array::from(idx);
  X.data = Array::from(val);
  double mu[3] = {};
  for (auto& r : rows)
    for (int j = 0; j < 3; ++j) mu[j] += r[j] / 6;
  std::vector<double> C(9, 0.0);
  for (auto& r : rows)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) C[static_cast<size_t>(a * 3 + b)] += (r[a] - mu[a]) * (r[b] - mu[b]) / 6;
  const TopEigenResult want = top_eigenpairs_dense(3, C, 2);
  for (const char* solver : {"gram", "krylov"}) {
    PcaOptions o;
    o.n_components = 2;
    o.solver = solver;
    const PcaResult p = centered_pca(MPI_COMM_SELF, 6, X, {0, 1, 2}, o);
    EXPECT_EQ(p.solver, solver);
    SCOPED_TRACE(solver);
    double total = C[0] + C[4] + C[8];
    for (int c = 0; c < 2; ++c) {
      EXPECT_NEAR(p.explained_variance[static_cast<size_t>(c)], want.values[static_cast<size_t>(c)], 1e-12);
      EXPECT_NEAR(p.explained_variance_ratio[static_cast<size_t>(c)], want.values[static_cast<size_t>(c)] / total, 1e-12);
      // Scores are the centred rows projected, and the largest |score| is positive.
      double best = 0, best_val = 0, var = 0;
      for (int i = 0; i < 6; ++i) {
        double s = 0;
        for (int j = 0; j < 3; ++j) s += (rows[i][j] - mu[j]) * p.components[static_cast<size_t>(j * 2 + c)];
        EXPECT_NEAR(p.x_pca.values.data<double>()[i * 2 + c], s, 1e-12);
        var += s * s / 6;
        if (std::abs(s) > best) best = std::abs(s), best_val = s;
      }
      EXPECT_GT(best_val, 0);
      EXPECT_NEAR(var, want.values[static_cast<size_t>(c)], 1e-12);
    }
  }
}

TEST(Pca, AutoSolverFollowsTheCostModel) {
  // Pancreas-like (41% dense, 1617 genes): the sparse operator; dense data with few genes: the
  // dense Gram; a million sparse cells: the sparse operator; 20,000 genes: never a dense G².
  EXPECT_EQ(choose_pca_solver(3696, 2464314, 1617, 30), "krylov");
  EXPECT_EQ(choose_pca_solver(5000, 5000 * 500, 500, 30), "gram");
  EXPECT_EQ(choose_pca_solver(500000, 100000000, 2000, 30), "krylov");
  EXPECT_EQ(choose_pca_solver(1000, 1000 * 20000, 20000, 30), "krylov");
}
