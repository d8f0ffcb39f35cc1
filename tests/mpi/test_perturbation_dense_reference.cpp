// The perturbation stage on a small synthetic data set against a dense, loop-by-loop reference
// written here from the spec: the Jacobian of the RKHS field (5.8), δx for raw mode (7.4),
// δy = J δx, det J, and the pearson/sqrt kernel over the 2-hop kNN neighbourhoods with dynamo's
// self-weight bound, expm1 weights, L1 rows and density-corrected projection (4.2–4.4).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "perturbation_fixture.hpp"

using namespace velofield;
using namespace velofield::test;

namespace {

struct DenseResult {
  std::vector<double> dy, det, velocity;
};

double det_of(std::vector<double> a, int64_t n) {
  double det = 1;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::abs(a[static_cast<size_t>(r * n + c)]) > std::abs(a[static_cast<size_t>(p * n + c)])) p = r;
    if (p != c) {
      for (int64_t q = 0; q < n; ++q) std::swap(a[static_cast<size_t>(c * n + q)], a[static_cast<size_t>(p * n + q)]);
      det = -det;
    }
    det *= a[static_cast<size_t>(c * n + c)];
    for (int64_t r = c + 1; r < n; ++r) {
      const double f = a[static_cast<size_t>(r * n + c)] / a[static_cast<size_t>(c * n + c)];
      for (int64_t q = c; q < n; ++q) a[static_cast<size_t>(r * n + q)] -= f * a[static_cast<size_t>(c * n + q)];
    }
  }
  return det;
}

DenseResult dense_reference(const Synthetic& s, int64_t gene, double value) {
  const int64_t N = s.N, D = s.D;
  DenseResult out;
  out.dy.assign(static_cast<size_t>(N * D), 0.0);
  out.det.assign(static_cast<size_t>(N), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const double* xi = &s.x[static_cast<size_t>(i * D)];
    std::vector<double> J(static_cast<size_t>(D * D), 0.0);
    for (int64_t m = 0; m < s.M; ++m) {
      double d2 = 0;
      for (int64_t q = 0; q < D; ++q) d2 += (xi[q] - s.ctrl[static_cast<size_t>(m * D + q)]) * (xi[q] - s.ctrl[static_cast<size_t>(m * D + q)]);
      const double k = std::exp(-s.beta * d2);
      for (int64_t p = 0; p < D; ++p)
        for (int64_t q = 0; q < D; ++q)
          J[static_cast<size_t>(p * D + q)] += -2 * s.beta * s.coef[static_cast<size_t>(m * D + p)] * k * (xi[q] - s.ctrl[static_cast<size_t>(m * D + q)]);
    }
    double xhat = s.mean[static_cast<size_t>(gene)];
    for (int64_t q = 0; q < D; ++q) xhat += xi[q] * s.pcs[static_cast<size_t>(gene * D + q)];
    for (int64_t p = 0; p < D; ++p)
      for (int64_t q = 0; q < D; ++q)
        out.dy[static_cast<size_t>(i * D + p)] += J[static_cast<size_t>(p * D + q)] * (value - xhat) * s.pcs[static_cast<size_t>(gene * D + q)];
    out.det[static_cast<size_t>(i)] = det_of(J, D);
  }
  // kNN table rows: the cell, then its k − 1 nearest (ties by index).
  std::vector<std::vector<int64_t>> knn(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < N; ++j) {
      if (j == i) continue;
      double d2 = 0;
      for (int64_t q = 0; q < D; ++q) d2 += (s.x[static_cast<size_t>(i * D + q)] - s.x[static_cast<size_t>(j * D + q)]) * (s.x[static_cast<size_t>(i * D + q)] - s.x[static_cast<size_t>(j * D + q)]);
      all.push_back({d2, j});
    }
    std::sort(all.begin(), all.end());
    knn[static_cast<size_t>(i)].push_back(i);
    for (int64_t q = 0; q < s.k - 1; ++q) knn[static_cast<size_t>(i)].push_back(all[static_cast<size_t>(q)].second);
  }
  auto sign_sqrt = [](double v) { return v > 0 ? std::sqrt(v) : v < 0 ? -std::sqrt(-v) : 0.0; };
  std::vector<std::vector<std::pair<int64_t, double>>> rho(static_cast<size_t>(N));
  std::vector<double> cmax(static_cast<size_t>(N), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    std::set<int64_t> hood;
    for (int64_t l : knn[static_cast<size_t>(i)])
      for (int64_t j : knn[static_cast<size_t>(l)]) hood.insert(j);
    std::vector<double> v(static_cast<size_t>(D));
    double vm = 0;
    for (int64_t q = 0; q < D; ++q) vm += (v[static_cast<size_t>(q)] = sign_sqrt(out.dy[static_cast<size_t>(i * D + q)])) / static_cast<double>(D);
    double vn = 0;
    for (double& e : v) vn += (e - vm) * (e - vm);
    for (int64_t j : hood) {
      std::vector<double> dd(static_cast<size_t>(D));
      double dm = 0;
      for (int64_t q = 0; q < D; ++q) dm += (dd[static_cast<size_t>(q)] = sign_sqrt(s.x[static_cast<size_t>(j * D + q)] - s.x[static_cast<size_t>(i * D + q)])) / static_cast<double>(D);
      double dot = 0, dn = 0;
      for (int64_t q = 0; q < D; ++q) {
        dot += (dd[static_cast<size_t>(q)] - dm) * (v[static_cast<size_t>(q)] - vm);
        dn += (dd[static_cast<size_t>(q)] - dm) * (dd[static_cast<size_t>(q)] - dm);
      }
      const double r = dn > 0 && vn > 0 ? dot / std::sqrt(dn * vn) : 0.0;
      if (r != 0) rho[static_cast<size_t>(i)].push_back({j, r});
      cmax[static_cast<size_t>(i)] = std::max(cmax[static_cast<size_t>(i)], r);
    }
  }
  std::vector<double> sorted = cmax;
  std::sort(sorted.begin(), sorted.end());
  const double h = static_cast<double>(N - 1) * 0.98;
  const int64_t lo = static_cast<int64_t>(std::floor(h));
  const double ub = sorted[static_cast<size_t>(lo)] + (h - static_cast<double>(lo)) * (sorted[static_cast<size_t>(std::min(lo + 1, N - 1))] - sorted[static_cast<size_t>(lo)]);
  out.velocity.assign(static_cast<size_t>(N * 2), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const double self = std::expm1(std::clamp(ub - cmax[static_cast<size_t>(i)], 0.0, 1.0) / 0.1);
    double l1 = std::abs(self);
    std::vector<std::pair<int64_t, double>> t;
    for (const auto& [j, r] : rho[static_cast<size_t>(i)]) {
      const double w = r > 0 ? std::expm1(r / 0.1) : -std::expm1(-r / 0.1);
      t.push_back({j, w});
      l1 += std::abs(w);
    }
    double mean = 0;
    for (auto& e : t) mean += (e.second /= l1) / static_cast<double>(t.size());
    for (const auto& [j, w] : t) {
      const double ex = s.umap[static_cast<size_t>(j * 2)] - s.umap[static_cast<size_t>(i * 2)], ey = s.umap[static_cast<size_t>(j * 2 + 1)] - s.umap[static_cast<size_t>(i * 2 + 1)];
      const double n = std::hypot(ex, ey);
      if (n == 0) continue;
      out.velocity[static_cast<size_t>(i * 2)] += (w - mean) * ex / n;
      out.velocity[static_cast<size_t>(i * 2 + 1)] += (w - mean) * ey / n;
    }
  }
  return out;
}

}  // namespace

TEST(PerturbationDenseReference, SparseKernelMatchesDenseLoops) {
  const Synthetic s = synthetic_data();
  Dataset d = synthetic_dataset(MPI_COMM_WORLD, s);
  run_perturbation(d, {{"genes", "gene_3"}, {"values", "-100"}, {"n_neighbors", std::to_string(s.k)}});
  const DenseResult ref = dense_reference(s, 3, -100);
  const std::vector<double> dy = gathered(MPI_COMM_WORLD, d.obsm_dense("j_delta_x_perturbation").values.to_double());
  const std::vector<double> det = gathered(MPI_COMM_WORLD, d.obs.columns.at("jacobian_det_pca").values.to_double());
  const std::vector<double> vel = gathered(MPI_COMM_WORLD, d.obsm_dense("velocity_umap_perturbation").values.to_double());
  double dy_err = 0, dy_scale = 0, det_err = 0;
  for (size_t k = 0; k < dy.size(); ++k) {
    dy_err = std::max(dy_err, std::abs(dy[k] - ref.dy[k]));
    dy_scale = std::max(dy_scale, std::abs(ref.dy[k]));
  }
  for (size_t i = 0; i < det.size(); ++i) det_err = std::max(det_err, std::abs(det[i] - ref.det[i]) / (std::abs(ref.det[i]) + 1e-300));
  std::vector<double> cosines;
  for (int64_t i = 0; i < s.N; ++i) {
    const double* a = &vel[static_cast<size_t>(i * 2)];
    const double* b = &ref.velocity[static_cast<size_t>(i * 2)];
    cosines.push_back((a[0] * b[0] + a[1] * b[1]) / (std::hypot(a[0], a[1]) * std::hypot(b[0], b[1])));
  }
  std::sort(cosines.begin(), cosines.end());
  measured("dense reference (" + std::to_string(s.N) + " cells): max |dy - ref| / max |ref| " + std::to_string(dy_err / dy_scale) +
           ", max rel det err " + std::to_string(det_err) + ", per-cell cosine min " + std::to_string(cosines.front()) + " median " +
           std::to_string(cosines[cosines.size() / 2]) + " (threshold 0.999)");
  EXPECT_LT(dy_err / dy_scale, 1e-10);
  EXPECT_LT(det_err, 1e-8);
  EXPECT_GE(cosines[cosines.size() / 2], 0.999);
  EXPECT_GE(cosines.front(), 0.999);
  // The gene-space layer is δy · PCsᵀ on the PCA genes (float32).
  const CsrMatrix& layer = d.layer_csr("j_delta_x_perturbation");
  EXPECT_EQ(layer.nnz(), d.n_obs_local * (s.G - 2));
  if (d.n_obs_local > 0) {
    double expect = 0;
    for (int64_t q = 0; q < s.D; ++q) expect += dy[static_cast<size_t>(d.obs_begin * s.D + q)] * s.pcs[static_cast<size_t>(4 * s.D + q)];
    EXPECT_NEAR(layer.data.as_double(4), expect, 1e-6 * std::abs(expect) + 1e-30);
  }
}

TEST(PerturbationDenseReference, SameAtAnyRankCount) {
  const Synthetic s = synthetic_data();
  Dataset world = synthetic_dataset(MPI_COMM_WORLD, s), self = synthetic_dataset(MPI_COMM_SELF, s);
  const std::map<std::string, std::string> keys{{"genes", "gene_3,gene_5"}, {"values", "-100,2"}, {"n_neighbors", std::to_string(s.k)}};
  run_perturbation(world, keys);
  run_perturbation(self, keys);
  const std::vector<double> a = gathered(MPI_COMM_WORLD, world.obsm_dense("velocity_umap_perturbation").values.to_double());
  const std::vector<double> b = self.obsm_dense("velocity_umap_perturbation").values.to_double();
  ASSERT_EQ(a.size(), b.size());
  double err = 0, scale = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    err = std::max(err, std::abs(a[k] - b[k]));
    scale = std::max(scale, std::abs(b[k]));
  }
  EXPECT_LE(err, 1e-12 * scale);
}

// delta mode: δx = Σ_g v_g q_g, the same for every cell, so δy = J q_g v_g.
TEST(PerturbationDenseReference, DeltaModeIsLinearInTheValue) {
  const Synthetic s = synthetic_data();
  Dataset one = synthetic_dataset(MPI_COMM_WORLD, s), two = synthetic_dataset(MPI_COMM_WORLD, s);
  run_perturbation(one, {{"genes", "gene_1"}, {"values", "1.5"}, {"perturb_mode", "delta"}, {"n_neighbors", "10"}});
  run_perturbation(two, {{"genes", "gene_1"}, {"values", "3"}, {"perturb_mode", "delta"}, {"n_neighbors", "10"}});
  const std::vector<double> a = one.obsm_dense("j_delta_x_perturbation").values.to_double();
  const std::vector<double> b = two.obsm_dense("j_delta_x_perturbation").values.to_double();
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(2 * a[k], b[k], 1e-12 * (std::abs(b[k]) + 1));
}
