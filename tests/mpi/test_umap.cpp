// The umap stage (issue 5): the fitted curve equals umap-learn's; on pancreas (dynamo's X_pca) the
// layout is as trustworthy as dynamo's X_umap (within 0.01 at k = 15) and keeps the cell types
// together as well (kNN label agreement within 0.02), at every rank count; from the PCA start the
// layout is identical at any rank count; an existing X_umap is kept unless enforce is set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "evaluate/kd_tree.hpp"
#include "evaluate/neighbor_lists.hpp"
#include "moments_fixture.hpp"
#include "neighbors/umap_ab_params.hpp"
#include "reference.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

struct LayoutScores {
  double trustworthiness = 0, label_agreement = 0;
};

// sklearn's trustworthiness and the fraction of each cell's k embedding neighbours with its
// cluster, over the local cells (the full high-dimensional points and layout on every rank).
LayoutScores scores(const Dataset& d, const DenseArray& high, const std::vector<double>& layout, const std::vector<int32_t>& labels,
                    int k) {
  const int64_t n = high.shape[0];
  const int dim = static_cast<int>(high.shape[1]);
  const KdTree tree(layout.data(), n, 2);
  double penalty = 0, agree = 0;
  std::vector<std::pair<double, int64_t>> order(static_cast<size_t>(n));
  std::vector<int64_t> rank_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const int64_t gi = d.obs_begin + i;
    for (int64_t j = 0; j < n; ++j) {
      double d2 = 0;
      for (int c = 0; c < dim; ++c) {
        const double diff = high.values.as_double(static_cast<size_t>(gi * dim + c)) - high.values.as_double(static_cast<size_t>(j * dim + c));
        d2 += diff * diff;
      }
      order[static_cast<size_t>(j)] = {j == gi ? -1.0 : d2, j};
    }
    std::sort(order.begin(), order.end());
    for (int64_t r = 0; r < n; ++r) rank_of[static_cast<size_t>(order[static_cast<size_t>(r)].second)] = r;   // self has rank 0
    for (int64_t j : tree.nearest(layout.data() + gi * 2, k, gi)) {
      if (rank_of[static_cast<size_t>(j)] > k) penalty += static_cast<double>(rank_of[static_cast<size_t>(j)] - k);
      agree += labels[static_cast<size_t>(j)] == labels[static_cast<size_t>(gi)];
    }
  }
  double sums[2] = {penalty, agree};
  MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, d.comm);
  const double nn = static_cast<double>(n), kk = k;
  return {1.0 - 2.0 / (nn * kk * (2.0 * nn - 3.0 * kk - 1.0)) * sums[0], sums[1] / (nn * kk)};
}

std::vector<double> gathered_layout(const Dataset& d) { return gather_dense_rows(d, d.obsm_dense("X_umap")); }

}  // namespace

TEST(Umap, CurveParametersMatchUmapLearn) {
  // umap-learn's find_ab_params(spread=1, min_dist=0.1) and (1, 0.5).
  const UmapCurve c1 = fit_umap_curve(1.0, 0.1);
  EXPECT_NEAR(c1.a, 1.5769, 1e-3);
  EXPECT_NEAR(c1.b, 0.8951, 1e-3);
  const UmapCurve c5 = fit_umap_curve(1.0, 0.5);
  EXPECT_NEAR(c5.a, 0.5830, 1e-3);
  EXPECT_NEAR(c5.b, 1.3342, 1e-3);
}

class UmapQuality : public ::testing::TestWithParam<int> {};

TEST_P(UmapQuality, PancreasLayoutIsAsTrustworthyAsDynamos) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  const int sync_every = GetParam();
  Dataset d = test::pancreas_for_moments(path, MPI_COMM_WORLD);
  test::run_stage(d, "moments", "second_moments = false\n");
  test::run_stage(d, "umap", "sync_every = " + std::to_string(sync_every) + "\n");
  EXPECT_EQ(d.uns.at("umap/params/init").text, "spectral");
  EXPECT_EQ(d.uns.at("umap/params/n_epochs").array.values.as_double(0), 500);
  const DenseArray pca = test::reference_array("X_pca");
  const DenseArray theirs = test::reference_array("X_umap");
  const std::vector<double> theirs_v = theirs.values.to_double();
  const std::vector<int32_t> labels = gather_codes(d, d.obs.columns.at("clusters"));
  const LayoutScores ours = scores(d, pca, gathered_layout(d), labels, 15);
  const LayoutScores dynamo = scores(d, pca, theirs_v, labels, 15);
  if (test::rank() == 0)
    std::printf("positions exchanged every %d epoch(s): trustworthiness(15): velofield %.4f, dynamo %.4f; label agreement(15): "
                "velofield %.4f, dynamo %.4f\n",
                sync_every, ours.trustworthiness, dynamo.trustworthiness, ours.label_agreement, dynamo.label_agreement);
  EXPECT_GE(ours.trustworthiness, dynamo.trustworthiness - 0.01);
  EXPECT_GE(ours.label_agreement, dynamo.label_agreement - 0.02);
  // Inside the [0, 10] start box give or take the optimisation's drift, not blown apart.
  for (double v : gathered_layout(d)) ASSERT_TRUE(std::isfinite(v) && std::fabs(v) < 100) << v;
}

// Every epoch (standard) and every 10 epochs (the cheaper exchange: its quality cost is measured here).
INSTANTIATE_TEST_SUITE_P(SyncEvery, UmapQuality, ::testing::Values(1, 10));

TEST(Umap, FromThePcaStartTheLayoutIsIdenticalAtAnyRankCount) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  const std::string options = "init = pca\nn_epochs = 60\n";
  Dataset d = test::pancreas_for_moments(path, MPI_COMM_WORLD);
  test::run_stage(d, "umap", options);
  Dataset one = test::pancreas_for_moments(path, MPI_COMM_SELF);
  test::run_stage(one, "umap", options);
  const DenseArray mine = d.obsm_dense("X_umap");
  const DenseArray slab = test::rows_of(one.obsm_dense("X_umap"), d);
  int differing = mine.values != slab.values;
  MPI_Allreduce(MPI_IN_PLACE, &differing, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(differing, 0);
  EXPECT_EQ(mine.values.dtype(), DType::f32);
  EXPECT_EQ(d.uns.at("umap/params/init").text, "pca");
}

TEST(Umap, AnExistingLayoutIsKeptUnlessEnforced) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  Dataset d = test::pancreas_for_moments(path, MPI_COMM_WORLD);
  DenseArray existing = DenseArray::zeros({d.n_obs_local, 2}, DType::f32);
  d.obsm["X_umap"] = existing;
  test::run_stage(d, "umap", "n_epochs = 5\n");
  EXPECT_EQ(d.obsm_dense("X_umap"), existing);
  EXPECT_FALSE(d.uns.contains("umap"));
  test::run_stage(d, "umap", "n_epochs = 5\nenforce = true\n");
  EXPECT_FALSE(d.obsm_dense("X_umap") == existing);
  EXPECT_EQ(d.uns.at("umap/params/n_epochs").array.values.as_double(0), 5);
}

TEST(Umap, BadOptionsAreClearErrors) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, 10, 1);
  d.source = "cells.h5ad";
  EXPECT_EQ(test::error_of([&] { test::run_stage(d, "umap", "init = random\n"); }),
            "test.ini: [umap] init: expected spectral or pca, found 'random'");
  EXPECT_EQ(test::error_of([&] { test::run_stage(d, "umap", "n_neighbors = 5\n"); }),
            "cells.h5ad: obsm/X_pca: not present (this file has obsm: none); run preprocess first for X_pca, or name another "
            "embedding with --basis");
}
