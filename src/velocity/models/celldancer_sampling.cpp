#include "velocity/models/celldancer_sampling.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "evaluate/kd_tree.hpp"

namespace velofield::models {

namespace {

// numpy's percentile, method 'linear'.
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1) * p / 100;
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= v.size()) return v.back();
  return v[lo] + (v[lo + 1] - v[lo]) * (h - static_cast<double>(lo));
}

}  // namespace

std::vector<int64_t> grid_downsample(const std::vector<double>& xy, int grid, double jitter_sd, KeyedStream& rng) {
  const int64_t n = static_cast<int64_t>(xy.size() / 2);
  if (n < 2) {
    std::vector<int64_t> all(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
    return all;
  }
  double lo[2], hi[2];
  for (int d = 0; d < 2; ++d) {
    double mn = xy[static_cast<size_t>(d)], mx = mn;
    for (int64_t i = 0; i < n; ++i) {
      mn = std::min(mn, xy[static_cast<size_t>(2 * i + d)]);
      mx = std::max(mx, xy[static_cast<size_t>(2 * i + d)]);
    }
    lo[d] = mn - 0.025 * (mx - mn);
    hi[d] = mx + 0.025 * (mx - lo[d]);
  }
  const KdTree tree(xy.data(), n, 2);
  std::set<int64_t> picked;
  for (int a = 0; a < grid; ++a)
    for (int b = 0; b < grid; ++b) {
      const double step = grid > 1 ? 1.0 / (grid - 1) : 0;
      double q[2] = {lo[0] + (hi[0] - lo[0]) * a * step, lo[1] + (hi[1] - lo[1]) * b * step};
      q[0] += jitter_sd * rng.normal();
      q[1] += jitter_sd * rng.normal();
      picked.insert(tree.nearest(q, 1, -1)[0]);
    }
  const std::vector<int64_t> kept(picked.begin(), picked.end());
  const int k = static_cast<int>(std::min<int64_t>(n - 1, 20));
  std::vector<double> density(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    const double* p = &xy[static_cast<size_t>(2 * kept[i])];
    double sum = 0;
    for (int64_t j : tree.nearest(p, k, -1)) {
      const double dx = xy[static_cast<size_t>(2 * j)] - p[0], dy = xy[static_cast<size_t>(2 * j + 1)] - p[1];
      sum += std::exp(-(dx * dx + dy * dy) / (2 * 0.25)) / std::sqrt(2 * M_PI * 0.25);
    }
    density[i] = sum;
  }
  const double cut = percentile(density, 25);
  std::vector<int64_t> out;
  for (size_t i = 0; i < kept.size(); ++i)
    if (density[i] > cut) out.push_back(kept[i]);
  return out;
}

std::vector<double> unique_rounded_points(const std::vector<double>& u, const std::vector<double>& s) {
  double umax = 0, smax = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    umax = std::max(umax, u[i]);
    smax = std::max(smax, s[i]);
  }
  // Grid indices, not rounded doubles, decide uniqueness: no equality of floating values involved.
  std::set<std::pair<int64_t, int64_t>> cells;
  for (size_t i = 0; i < u.size(); ++i)
    cells.insert({umax > 0 ? std::llround(u[i] / (0.01 * umax)) : 0, smax > 0 ? std::llround(s[i] / (0.01 * smax)) : 0});
  std::vector<double> out;
  out.reserve(2 * cells.size());
  for (const auto& [a, b] : cells) {
    out.push_back(static_cast<double>(a) * 0.01 * umax);
    out.push_back(static_cast<double>(b) * 0.01 * smax);
  }
  return out;
}

std::vector<int64_t> subsample(int64_t n, double ratio, KeyedStream& rng) {
  const int64_t m = std::min<int64_t>(n, std::max<int64_t>(0, std::llround(ratio * static_cast<double>(n))));
  // Partial Fisher-Yates over 0..n-1.
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.uniform() * static_cast<double>(n - i));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(std::min(j, n - 1))]);
  }
  std::vector<int64_t> out(idx.begin(), idx.begin() + m);
  std::sort(out.begin(), out.end());
  return out;
}

bool choose_circle(const std::vector<double>& points, KeyedStream& rng) {
  const size_t n = points.size() / 2;
  if (n == 0) return false;
  std::vector<int64_t> down = grid_downsample(points, 20, 0.15, rng);
  if (down.empty()) {   // cellDancer falls back to all points when the downsampling fails
    down.resize(n);
    for (size_t i = 0; i < n; ++i) down[i] = static_cast<int64_t>(i);
  }
  double umax = -INFINITY, smax = -INFINITY;
  for (int64_t i : down) {
    umax = std::max(umax, points[static_cast<size_t>(2 * i)]);
    smax = std::max(smax, points[static_cast<size_t>(2 * i + 1)]);
  }
  size_t corner = 0;
  for (size_t i = 0; i < n; ++i) corner += points[2 * i] > 0.9 * umax && points[2 * i + 1] > 0.9 * smax;
  return static_cast<double>(corner) > 0.001 * static_cast<double>(n);
}

}  // namespace velofield::models
