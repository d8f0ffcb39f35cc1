#pragma once
// uns['grid_velocity_<basis>'] as dynamo's velocity_on_grid builds it for the streamline plots, on
// the first two embedding dimensions: an nx × ny grid spanning the cells (1% margins; dynamo's
// upper margin is 1% of max − (lowered min), kept for identical grids), at each grid point the
// Gaussian-weighted mean of the embedding velocities of its n = max(10, N/50) nearest cells,
// V = Σ w·dE / max(1, Σ w) with w = NormalPDF(distance; 0, scale), scale = half the mean grid step;
// D = the covariance of those cells' velocities / 2; and V's x component set to NaN where the
// field is too weak for a streamline (|V| below min(1e-5, 0.9 max |V|), or the mean |dE| of the
// neighbours below its 5th percentile over the grid).
//
// dynamo builds the pearson/cosine grid from the future positions E + dE instead of dE (a bug: the
// field then points away from the origin); this one uses the velocities, as dynamo does for its
// other kernels and its own plots.
//
// Distributed and exact: each rank keeps its n nearest cells per grid point, the n-th distance over
// all ranks is found by a batched bisection of counts, and the weighted sums are all-reduced.
#include <cstdint>

#include "data/dataset.hpp"
#include "data/uns.hpp"

namespace velofield {

struct GridVelocityOptions {
  int64_t points_per_axis = 50;   // dynamo's xy_grid_nums (square)
  // The nearest cells of all grid points are selected exactly either by gathering every rank's
  // candidates (one collective; when grid points × candidates × ranks is at most this) or by a
  // bisection of counts (64 all-reduces); both give the same cells.
  int64_t gather_limit = int64_t(1) << 20;
};

struct GridVelocityReport {
  int64_t cells = 0;       // finite cells used (all ranks)
  int64_t neighbors = 0;   // per grid point
  double seconds = 0;
};

// Collective. embedding and velocity: the rank's rows (at least 2 columns each); rows with a
// non-finite value in their first two columns are left out. Returns the uns dict {X_grid: 2 × nx
// (requires nx == ny, as dynamo's layout does), V_grid: 2 × ny × nx, D: (nx·ny) × 2 × 2}; empty
// (a dict without children) when no cell is finite.
UnsNode grid_velocity(const Dataset& dataset, const DenseArray& embedding, const DenseArray& velocity,
                      const GridVelocityOptions& options, GridVelocityReport& report);

}  // namespace velofield
