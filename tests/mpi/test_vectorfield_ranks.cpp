// The same fit at any rank count: the stage on all ranks of the world against the stage on one
// rank (MPI_COMM_SELF) holding every cell. At np 2 and 3 this compares 2 and 3 ranks with 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "vectorfield/fixed_point_sum.hpp"
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

// Cells whose values differ in any bit (NaN matches NaN: cells left out of the fit).
size_t differing(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t e = 0; e < a.size(); ++e) n += !(a[e] == b[e] || (std::isnan(a[e]) && std::isnan(b[e])));
  return n;
}

// The fit's reductions are independent of the rank count (fixed chunks, fixed-point M-step sums,
// chunk-ordered scalar sums), so every result is the same bits at 2 and 3 ranks as at 1.
void expect_same(const Results& many, const Results& one, const std::string& what) {
  report(what + " at " + num(ranks()) + " rank(s) vs 1: max rel diff V " + num(max_relative(many.V, one.V)) + ", P " +
         num(max_relative(many.P, one.P)) + ", sigma2 " + num(std::abs(many.sigma2 / one.sigma2 - 1)) +
         ", divergence " + num(max_relative(many.div, one.div)) + ", acceleration " +
         num(max_relative(many.acc, one.acc)) + ", curvature " + num(max_relative(many.curv, one.curv)) +
         ", curl " + num(max_relative(many.curl, one.curl)) + "; values differing in any bit: " +
         num(static_cast<double>(differing(many.V, one.V) + differing(many.P, one.P) + differing(many.div, one.div) +
                                 differing(many.acc, one.acc) + differing(many.curv, one.curv) +
                                 differing(many.curl, one.curl) + differing(many.angle, one.angle))));
  EXPECT_EQ(differing(many.V, one.V), 0u);
  EXPECT_EQ(differing(many.P, one.P), 0u);
  EXPECT_EQ(differing(many.angle, one.angle), 0u);
  EXPECT_EQ(differing(many.div, one.div), 0u);
  EXPECT_EQ(differing(many.acc, one.acc), 0u);
  EXPECT_EQ(differing(many.curv, one.curv), 0u);
  EXPECT_EQ(differing(many.curl, one.curl), 0u);
  EXPECT_EQ(many.sigma2, one.sigma2);
  EXPECT_EQ(many.beta, one.beta);
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

// The 2-D UMAP fit's M-step matrix is numerically singular (LAPACK's rcond ~1e-17: 185 Gaussians
// of bandwidth ~2 on a 2-D cloud): a last-bit difference in the all-reduced UᵀPU moved the field by
// ~1e-4 when the sums depended on how the cells were split. Now they do not, and it agrees bitwise.
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
  expect_same(a, b, "pancreas umap, sampled control points (M = 185)");
}

// The reproducible sums on their own: terms of 50 binary orders of magnitude, split over the ranks
// by a hash and added in reverse order, give the bits of one rank adding them all in order.
TEST(VectorFieldRanks, FixedPointSumsOfTermsSplitOverTheRanks) {
  const int64_t sums = 3, terms = 4000;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-1, 1);
  std::uniform_int_distribution<int> shift(0, 50);
  std::vector<double> x(static_cast<size_t>(sums * terms));
  for (auto& v : x) v = std::ldexp(u(rng), 4 - shift(rng));
  const std::vector<FixedPointSums::Group> groups{{sums, 4}};
  FixedPointSums one(groups), many(groups);
  for (int64_t t = 0; t < terms; ++t) one.add(0, x.data() + t * sums, sums);
  one.allreduce(MPI_COMM_SELF);
  for (int64_t t = terms - 1; t >= 0; --t)
    if (static_cast<int>((static_cast<uint64_t>(t) * 0x9E3779B97F4A7C15ULL) >> 40) % ranks() == rank())
      many.add(0, x.data() + t * sums, sums);
  many.allreduce(MPI_COMM_WORLD);
  for (int64_t k = 0; k < sums; ++k) EXPECT_EQ(many.value(k), one.value(k)) << "sum " << k;
}

// 300 cells make 2 chunks of 256 and 44: at 3 ranks one rank fits no cell at all, yet takes part
// in every reduction and gets its cells' results back. Some velocities are NaN (left out).
TEST(VectorFieldRanks, SmallDataWithARankWithoutFitCells) {
  const int64_t n = 300, dim = 2;
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 0.02);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(static_cast<size_t>(n * dim)), y(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    const double a = u(rng), b = u(rng);
    x[static_cast<size_t>(2 * i)] = a;
    x[static_cast<size_t>(2 * i + 1)] = b;
    y[static_cast<size_t>(2 * i)] = -b + 0.3 * a + noise(rng);   // a spiral: rotation plus expansion
    y[static_cast<size_t>(2 * i + 1)] = a + 0.3 * b + noise(rng);
  }
  for (int64_t i : {5, 150, 299}) y[static_cast<size_t>(2 * i)] = std::nan("");
  Dataset many = embedding_dataset(MPI_COMM_WORLD, "toy", x, y, dim);
  run_vectorfield(many, {{"basis", "toy"}, {"M", "40"}});
  Dataset one = embedding_dataset(MPI_COMM_SELF, "toy", x, y, dim);
  run_vectorfield(one, {{"basis", "toy"}, {"M", "40"}});
  const Results a = results(many, "toy", true), b = results(one, "toy", true);
  EXPECT_TRUE(std::isnan(b.P[150]));
  EXPECT_GT(uns_number(one, "VecFld_toy/mean_velocity_cosine"), 0.9);
  expect_same(a, b, "300 cells, 2-D spiral (M = 40)");
}
