// `cell-velocities` gives the same results at any rank count: each rank's rows of the transition
// matrix and of the embedding velocity equal, bit for bit, those of a one-rank run of the same
// data (MPI_COMM_SELF on every rank); the grid, whose sums are all-reduced, agrees to rounding.
// Run at 1, 2 and 3 ranks by ctest; float32 (simulated) and float64 (pancreas) expressions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/config.hpp"
#include "test_support.hpp"
#include "transition/cell_velocities_stage.hpp"
#include "transition_fixture.hpp"

using namespace velofield;

namespace {

void run_cell_velocities(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = cell_velocities_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("cell-velocities", k, v);
  stage.run(d, StageConfig(config, "cell-velocities", stage.keys));
}

SimulationOptions small() {
  SimulationOptions o;
  o.n_cells = 700;
  o.n_genes = 60;
  o.n_lineages = 2;
  o.seed = 5;
  return o;
}

// Compares the rank's rows of `world` (p ranks) with the same rows of `self` (all cells on one rank).
void expect_same_rows(const Dataset& world, const Dataset& self, const std::string& matrix, const std::vector<std::string>& bases,
                      int64_t min_entries_per_row) {
  std::vector<int64_t> wp, wc, sp, sc;
  std::vector<double> wv, sv;
  world.obsp.at(matrix).local_csr(wp, wc, wv);
  self.obsp.at(matrix).local_csr(sp, sc, sv);
  int64_t differing_rows = 0, entries = 0;
  for (int64_t i = 0; i < world.n_obs_local; ++i) {
    const int64_t g = world.obs_begin + i;
    const bool same = std::equal(wc.begin() + wp[i], wc.begin() + wp[i + 1], sc.begin() + sp[g], sc.begin() + sp[g + 1]) &&
                      std::equal(wv.begin() + wp[i], wv.begin() + wp[i + 1], sv.begin() + sp[g], sv.begin() + sp[g + 1]) &&
                      wp[i + 1] - wp[i] == sp[g + 1] - sp[g];
    differing_rows += !same;
    entries += wp[i + 1] - wp[i];
  }
  MPI_Allreduce(MPI_IN_PLACE, &differing_rows, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &entries, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(differing_rows, 0) << matrix << " at " << test::ranks() << " ranks";
  EXPECT_GT(entries, min_entries_per_row * world.n_obs) << "the matrix is not (nearly) empty";
  for (const std::string& basis : bases) {
    const DenseArray& w = world.obsm_dense("velocity_" + basis);
    const DenseArray& s = self.obsm_dense("velocity_" + basis);
    const int64_t dim = w.row_stride();
    int64_t differing = 0;
    for (int64_t k = 0; k < world.n_obs_local * dim; ++k) {
      const double a = w.values.as_double(static_cast<size_t>(k)), b = s.values.as_double(static_cast<size_t>(world.obs_begin * dim + k));
      differing += !(a == b || (std::isnan(a) && std::isnan(b)));
    }
    MPI_Allreduce(MPI_IN_PLACE, &differing, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    EXPECT_EQ(differing, 0) << "velocity_" << basis;
    // The grid: all-reduced sums, equal up to the order of additions.
    for (const char* part : {"X_grid", "V_grid", "D"}) {
      const DenseArray& gw = world.uns.at("grid_velocity_" + basis + "/" + part).array;
      const DenseArray& gs = self.uns.at("grid_velocity_" + basis + "/" + part).array;
      ASSERT_EQ(gw.shape, gs.shape) << part;
      double worst = 0, scale = 0;
      int64_t nan_mismatch = 0;
      for (size_t k = 0; k < gw.values.size(); ++k) {
        const double a = gw.values.as_double(k), b = gs.values.as_double(k);
        if (std::isnan(a) || std::isnan(b)) {
          nan_mismatch += std::isnan(a) != std::isnan(b);
          continue;
        }
        worst = std::max(worst, std::fabs(a - b));
        scale = std::max(scale, std::fabs(b));
      }
      EXPECT_EQ(nan_mismatch, 0) << basis << " " << part;
      EXPECT_LE(worst, 1e-12 * scale) << basis << " " << part;
    }
  }
}

}  // namespace

TEST(TransitionRanks, SimulatedFloat32SameAtAnyRankCount) {
  Dataset world = test::simulated_transition_inputs(MPI_COMM_WORLD, small());
  Dataset self = test::simulated_transition_inputs(MPI_COMM_SELF, small());
  ASSERT_EQ(world.obsm.count("X_true_2d"), 1u);
  ASSERT_EQ(std::get<DenseArray>(world.layers.at("M_s")).values.dtype(), DType::f32) << "the float32 path";
  for (Dataset* d : {&world, &self}) run_cell_velocities(*d, {{"basis", "true_2d"}});
  expect_same_rows(world, self, "pearson_transition_matrix", {"true_2d"}, 60);
}

TEST(TransitionRanks, SmallHaloChunksChangeNothing) {
  // 16 KiB chunks: a few dozen rows of other ranks at a time, many passes over the cells.
  Dataset world = test::simulated_transition_inputs(MPI_COMM_WORLD, small());
  Dataset self = test::simulated_transition_inputs(MPI_COMM_SELF, small());
  run_cell_velocities(world, {{"basis", "true_2d"}, {"halo_chunk_mb", "0.015625"}});
  run_cell_velocities(self, {{"basis", "true_2d"}});
  expect_same_rows(world, self, "pearson_transition_matrix", {"true_2d"}, 60);
}

TEST(TransitionRanks, CosineOneHopSameAtAnyRankCount) {
  Dataset world = test::simulated_transition_inputs(MPI_COMM_WORLD, small());
  Dataset self = test::simulated_transition_inputs(MPI_COMM_SELF, small());
  for (Dataset* d : {&world, &self})
    run_cell_velocities(*d, {{"basis", "true_2d"}, {"method", "cosine"}, {"transform", "log"}, {"n_recurse_neighbors", "1"}});
  expect_same_rows(world, self, "cosine_transition_matrix", {"true_2d"}, 10);
}

TEST(TransitionRanks, PancreasFloat64SameAtAnyRankCount) {
  VELOFIELD_REQUIRE_REFERENCE(path);
  Dataset world = test::pancreas_transition_inputs(MPI_COMM_WORLD);
  Dataset self = test::pancreas_transition_inputs(MPI_COMM_SELF);
  for (Dataset* d : {&world, &self}) run_cell_velocities(*d, {{"bases", "umap, pca"}});
  expect_same_rows(world, self, "pearson_transition_matrix", {"umap", "pca"}, 150);
}
