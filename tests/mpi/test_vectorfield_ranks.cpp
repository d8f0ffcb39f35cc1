// The same fit at any rank count: the stage on all ranks of the world against the stage on one
// rank (MPI_COMM_SELF) holding every cell. At np 2 and 3 this compares 2 and 3 ranks with 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "vectorfield_fixture.hpp"

using namespace velofield;
using namespace velofield::test;

namespace {

double max_relative(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t e = 0; e < a.size(); ++e) {
    if (std::isnan(a[e]) && std::isnan(b[e])) continue;
    num = std::max(num, std::abs(a[e] - b[e]));
    den = std::max(den, std::abs(b[e]));
  }
  return den > 0 ? num / den : num;
}

// Global per-cell results of a dataset, in cell order.
struct Results {
  std::vector<double> V, P, angle, div, acc, curv, ctrl_flag, curl;
  double sigma2 = 0, beta = 0, iteration = 0;
  std::vector<double> ctrl_idx;
};

Results results(const Dataset& d, const std::string& basis, bool with_curl) {
  Results r;
  r.V = gather_all(d.comm, obsm(d, "velocity_" + basis + "_SparseVFC").values.to_double());
  r.P = gather_all(d.comm, obs_column(d, "inlier_prob_" + basis));
  r.angle = gather_all(d.comm, obs_column(d, "obs_vf_angle_" + basis));
  r.div = gather_all(d.comm, obs_column(d, "divergence_" + basis));
  r.acc = gather_all(d.comm, obsm(d, "acceleration_" + basis).values.to_double());
  r.curv = gather_all(d.comm, obs_column(d, "curvature_" + basis));
  r.ctrl_flag = gather_all(d.comm, obs_column(d, "control_point_" + basis));
  if (with_curl) r.curl = gather_all(d.comm, obs_column(d, "curl_" + basis));
  r.sigma2 = uns_number(d, "VecFld_" + basis + "/sigma2");
  r.beta = uns_number(d, "VecFld_" + basis + "/beta");
  r.iteration = uns_number(d, "VecFld_" + basis + "/iteration");
  r.ctrl_idx = d.uns.at("VecFld_" + basis + "/ctrl_idx").array.values.to_double();
  return r;
}

// tolerance: 1e-10 for a well-conditioned fit; see UmapFitWithSampledControlPoints for the other.
// The posterior P = t/(t + c), t = exp(-r/2σ²), amplifies the rounding of a residual r by r/2σ²
// near its transition, and the curvature divides by |v|⁴ at slow cells: those two get 10×.
void expect_same(const Results& many, const Results& one, const std::string& what, double tolerance = 1e-10,
                 double curvature_tolerance = 1e-9) {
  const double v = max_relative(many.V, one.V), p = max_relative(many.P, one.P), div = max_relative(many.div, one.div);
  const double acc = max_relative(many.acc, one.acc), curv = max_relative(many.curv, one.curv);
  report(what + " at " + num(ranks()) + " rank(s) vs 1: max rel diff V " + num(v) + ", P " +
         num(p) + ", sigma2 " + num(std::abs(many.sigma2 / one.sigma2 - 1)) + ", divergence " +
         num(div) + ", acceleration " + num(acc) + ", curvature " + num(curv));
  EXPECT_LT(v, tolerance);
  EXPECT_LT(p, 10 * tolerance);
  EXPECT_LT(div, tolerance);
  EXPECT_LT(acc, tolerance);
  EXPECT_LT(curv, curvature_tolerance);
  EXPECT_LT(max_relative(many.angle, one.angle), tolerance);
  if (!one.curl.empty()) {
    EXPECT_LT(max_relative(many.curl, one.curl), tolerance);
  }
  EXPECT_NEAR(many.sigma2 / one.sigma2, 1.0, tolerance);
  EXPECT_EQ(many.beta, one.beta);   // gathered in row order: bit-identical
  EXPECT_EQ(many.iteration, one.iteration);
  EXPECT_EQ(many.ctrl_idx, one.ctrl_idx);
  EXPECT_EQ(many.ctrl_flag, one.ctrl_flag);
}

}  // namespace

TEST(VectorFieldRanks, PcaFitWithFixedControlPoints) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("pca");
  const std::string dir = temp_dir();
  const std::string ctrl = write_cell_file(MPI_COMM_WORLD, dir, "ctrl_pca.txt", f.ctrl_cells);
  Dataset many = embedding_dataset(MPI_COMM_WORLD, "pca", f.x, f.y, f.dim);
  run_vectorfield(many, {{"basis", "pca"}, {"ctrl_idx", ctrl}});
  Dataset one = embedding_dataset(MPI_COMM_SELF, "pca", f.x, f.y, f.dim);
  run_vectorfield(one, {{"basis", "pca"}, {"ctrl_idx", ctrl}});
  expect_same(results(many, "pca", false), results(one, "pca", false), "pancreas pca, dynamo's control points");
}

// Sampled control points (velocity magnitude, seeded by global cell index) are the same cells at
// any rank count, and so is the fit; streaming kernel blocks (no cache) give the cached result.
TEST(VectorFieldRanks, PcaFitWithSampledControlPoints) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("pca");
  Dataset many = embedding_dataset(MPI_COMM_WORLD, "pca", f.x, f.y, f.dim);
  run_vectorfield(many, {{"basis", "pca"}, {"M", "500"}, {"kernel_cache_gb", "0"}});
  Dataset one = embedding_dataset(MPI_COMM_SELF, "pca", f.x, f.y, f.dim);
  run_vectorfield(one, {{"basis", "pca"}, {"M", "500"}});
  const Results a = results(many, "pca", false), b = results(one, "pca", false);
  EXPECT_EQ(a.ctrl_idx.size(), 500u);
  expect_same(a, b, "pancreas pca, sampled control points (M = 500)");
}

// The 2-D UMAP fit's M-step matrix is numerically singular (LAPACK's rcond ~1e-16: 185 Gaussians
// of bandwidth ~2 on a 2-D cloud), so the rounding of the all-reduced UᵀPU, which depends on how
// the cells are split, reaches the field at ~1e-4. The control points, beta and the iteration
// count are still identical, and the field agrees to 1e-3 (the curvature, (a|v|² - v(v·a))/|v|⁴,
// amplifies it near slow cells: 1e-2).
TEST(VectorFieldRanks, UmapFitWithSampledControlPoints) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("umap");
  Dataset many = embedding_dataset(MPI_COMM_WORLD, "umap", f.x, f.y, f.dim);
  run_vectorfield(many, {{"basis", "umap"}});
  Dataset one = embedding_dataset(MPI_COMM_SELF, "umap", f.x, f.y, f.dim);
  run_vectorfield(one, {{"basis", "umap"}});
  const Results a = results(many, "umap", true), b = results(one, "umap", true);
  EXPECT_EQ(a.ctrl_idx.size(), 185u);
  report("umap rcond(L) " + num(uns_number(one, "VecFld_umap/rcond_lhs")));
  expect_same(a, b, "pancreas umap, sampled control points (M = 185)", 1e-3, 1e-2);
}
