// velocity_projection() on hand-computed cases: unit displacements, the density correction (mean
// of the stored weights times the sum of unit vectors), coinciding positions, empty rows (NaN with
// the correction, 0 without).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "velocity_projection.hpp"

using namespace velofield::kernels;

TEST(VelocityProjection, HandComputedRows) {
  // Positions: 0 (0,0), 1 (3,4), 2 (-2,0), 3 (0,0) (coincides with 0), 4 (0,1).
  const std::vector<double> embedding{0, 0, 3, 4, -2, 0, 0, 0, 0, 1};
  // Cell 0 (row 0): entries to 1 (w 0.5), 2 (w -0.25), 3 (w 0.125: zero distance, u = 0).
  // Cell 1 (row 4): entry to 0 (w 1).  Cell 2 (row 2): no entries.
  const std::vector<int64_t> cell_row{0, 4, 2}, offsets{0, 3, 4, 4}, neighbor{1, 2, 3, 0};
  const std::vector<double> weights{0.5, -0.25, 0.125, 1.0};
  ProjectionInput in;
  in.cells = 3;
  in.dim = 2;
  in.n_rows = 5;
  in.embedding = embedding.data();
  in.cell_row = cell_row.data();
  in.offsets = offsets.data();
  in.neighbor_row = neighbor.data();
  in.weights = weights.data();
  std::vector<double> out(6, 7.0);
  velocity_projection(in, true, out.data());
  // Cell 0: Σ w u = 0.5·(0.6, 0.8) − 0.25·(−1, 0) = (0.55, 0.4); mean w = 0.375/3 = 0.125;
  // Σ u = (0.6 − 1, 0.8) = (−0.4, 0.8) → (0.55 + 0.05, 0.4 − 0.1) = (0.6, 0.3).
  EXPECT_NEAR(out[0], 0.6, 1e-15);
  EXPECT_NEAR(out[1], 0.3, 1e-15);
  // Cell 1 at (0,1), to (0,0): u = (0,−1); Σ w u = (0,−1); mean 1; Σ u = (0,−1) → (0, 0).
  EXPECT_NEAR(out[2], 0.0, 1e-15);
  EXPECT_NEAR(out[3], 0.0, 1e-15);
  EXPECT_TRUE(std::isnan(out[4]) && std::isnan(out[5])) << "an empty row is NaN with the density correction";

  velocity_projection(in, false, out.data());
  EXPECT_NEAR(out[0], 0.55, 1e-15);
  EXPECT_NEAR(out[1], 0.4, 1e-15);
  EXPECT_NEAR(out[3], -1.0, 1e-15);
  EXPECT_EQ(out[4], 0.0);
  EXPECT_EQ(out[5], 0.0);
}
