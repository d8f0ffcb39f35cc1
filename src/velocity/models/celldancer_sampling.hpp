#pragma once
// cellDancer's data reduction before training (spec §2.1-2.2), in plain C++: the jittered-grid
// downsampling with a density filter (used on the 2-D embedding to pick the fit cells, and on a
// gene's phase portrait to choose the initial network), the 1 %-grid rounding with de-duplication,
// and the per-epoch subsample without replacement. Random draws come from keyed streams so a gene's
// result does not depend on which rank trains it.
#include <cstdint>
#include <vector>

#include "velocity/models/keyed_random.hpp"

namespace velofield::models {

// Points (x, y) row-major. A grid of `grid` × `grid` points spanning [min − 2.5 % range,
// max + 2.5 % of (max − lo)] per axis (cellDancer's widened upper margin), each jittered by
// N(0, jitter_sd²) in absolute units; the nearest point to each grid point is kept; of those, the
// ones whose Gaussian kernel density (σ = 0.5 over their min(n − 1, 20) nearest points, self
// included) is strictly above the 25th percentile survive. Returns point indices, ascending.
std::vector<int64_t> grid_downsample(const std::vector<double>& xy, int grid, double jitter_sd, KeyedStream& rng);

// Unique (u, s) after rounding to 1 % of (umax_fit, smax_fit), the maxima over the given values;
// returned as pairs (u0, s0, u1, s1, ...) in ascending (u, s) order. Values are the rounded raw ones.
std::vector<double> unique_rounded_points(const std::vector<double>& u, const std::vector<double>& s);

// round(ratio · n) indices of 0..n-1 without replacement, ascending (pandas' sample(frac) size).
std::vector<int64_t> subsample(int64_t n, double ratio, KeyedStream& rng);

// cellDancer's initial-network choice on a gene's subsampled points (raw rounded (u, s) pairs):
// true = "circle" (more than 0.1 % of the points in the upper-right corner of the 20 × 20 grid
// downsample's maxima), false = "branch".
bool choose_circle(const std::vector<double>& points, KeyedStream& rng);

}  // namespace velofield::models
