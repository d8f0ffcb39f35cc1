// Topography on planted systems whose answers are known in closed form: a linear saddle
// (one fixed point, straight nullclines and separatrix) and the symmetric toggle switch
// f = (a/(1+y²) − x, a/(1+x²) − y) with a = 3 (two stable nodes, one saddle on the diagonal,
// whose stable manifold — the separatrix between the basins — is the diagonal x = y).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <cmath>
#include <vector>

#include "core/partition.hpp"
#include "test_support.hpp"
#include "topography/topography_map.hpp"

using namespace velofield;

namespace {

std::string sci(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

void measured(const std::string& line) {
  if (test::rank() == 0) std::printf("[ measured ] %s\n", line.c_str());
}

class LinearField : public FieldFunction {
 public:
  // f(x) = A (x − x0)
  double A[4] = {1, 2, 0, -3};
  double x0[2] = {0.3, -0.2};
  int64_t dim() const override { return 2; }
  void values(int64_t n, const double* x, double* out) const override {
    for (int64_t i = 0; i < n; ++i) {
      const double dx = x[2 * i] - x0[0], dy = x[2 * i + 1] - x0[1];
      out[2 * i] = A[0] * dx + A[1] * dy;
      out[2 * i + 1] = A[2] * dx + A[3] * dy;
    }
  }
  void jacobians(int64_t n, const double*, double* out) const override {
    for (int64_t i = 0; i < n; ++i) std::copy(A, A + 4, out + 4 * i);
  }
};

class ToggleSwitch : public FieldFunction {
 public:
  double a = 3;
  int64_t dim() const override { return 2; }
  void values(int64_t n, const double* x, double* out) const override {
    for (int64_t i = 0; i < n; ++i) {
      out[2 * i] = a / (1 + x[2 * i + 1] * x[2 * i + 1]) - x[2 * i];
      out[2 * i + 1] = a / (1 + x[2 * i] * x[2 * i]) - x[2 * i + 1];
    }
  }
  void jacobians(int64_t n, const double* x, double* out) const override {
    for (int64_t i = 0; i < n; ++i) {
      const double px = 1 + x[2 * i] * x[2 * i], py = 1 + x[2 * i + 1] * x[2 * i + 1];
      out[4 * i] = -1;
      out[4 * i + 1] = -2 * a * x[2 * i + 1] / (py * py);
      out[4 * i + 2] = -2 * a * x[2 * i] / (px * px);
      out[4 * i + 3] = -1;
    }
  }
};

// A regular grid of "cells" over [lo, hi]², the rows of this rank's block on `comm`.
struct Cells {
  std::vector<double> local;
  int64_t begin = 0, rows = 0, total = 0;
};
Cells grid_cells(MPI_Comm comm, double lo, double hi, int64_t per_axis) {
  Cells c;
  c.total = per_axis * per_axis;
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const BlockPartition part{c.total, size};
  c.begin = part.begin(rank);
  c.rows = part.size(rank);
  for (int64_t i = c.begin; i < c.begin + c.rows; ++i) {
    c.local.push_back(lo + (hi - lo) * static_cast<double>(i % per_axis) / static_cast<double>(per_axis - 1));
    c.local.push_back(lo + (hi - lo) * static_cast<double>(i / per_axis) / static_cast<double>(per_axis - 1));
  }
  return c;
}

TopographyResult run(MPI_Comm comm, const FieldFunction& f, double lo, double hi) {
  const Cells c = grid_cells(comm, lo, hi, 40);
  TopographyOptions o;
  o.cell_starts = 200;
  return map_topography(comm, f, c.rows, c.local.data(), c.begin, c.total, o);
}

// The toggle switch's fixed points: x = a/(1+y²), y = a/(1+x²), i.e. the roots of
// g(x) = a/(1 + (a/(1+x²))²) − x, by bisection on a fine scan.
std::vector<std::array<double, 2>> toggle_roots(double a) {
  auto y_of = [&](double x) { return a / (1 + x * x); };
  auto g = [&](double x) { return a / (1 + y_of(x) * y_of(x)) - x; };
  std::vector<std::array<double, 2>> roots;
  const int steps = 100000;
  for (int k = 0; k < steps; ++k) {
    double l = a * k / steps, r = a * (k + 1) / steps;
    if ((g(l) > 0) == (g(r) > 0)) continue;
    for (int it = 0; it < 200; ++it) {
      const double m = 0.5 * (l + r);
      ((g(m) > 0) == (g(l) > 0) ? l : r) = m;
    }
    roots.push_back({0.5 * (l + r), y_of(0.5 * (l + r))});
  }
  return roots;
}

double distance_to_line(const double* p, const double* x0, const double* dir) {
  const double dx = p[0] - x0[0], dy = p[1] - x0[1];
  return std::abs(dx * dir[1] - dy * dir[0]) / std::hypot(dir[0], dir[1]);
}

}  // namespace

TEST(TopographyPlanted, LinearSaddle) {
  const LinearField f;
  const TopographyResult t = run(MPI_COMM_WORLD, f, -1, 1);
  ASSERT_EQ(t.points.size(), 1u);
  const FixedPoint& p = t.points[0];
  const double err = std::hypot(p.x[0] - f.x0[0], p.x[1] - f.x0[1]);
  EXPECT_LT(err, 1e-8);
  EXPECT_EQ(p.type, 0);
  EXPECT_EQ(p.kind, FixedPointKind::saddle);
  std::vector<double> w{p.eigenvalues[0].real(), p.eigenvalues[1].real()};
  std::sort(w.begin(), w.end());
  EXPECT_NEAR(w[0], -3, 1e-12);
  EXPECT_NEAR(w[1], 1, 1e-12);
  // Nullclines: f_x = 0 is the line (x−x0) + 2(y−y0) = 0, f_y = 0 the line y = y0.
  const double ncx_dir[2] = {2, -1}, ncy_dir[2] = {1, 0};
  double worst_nc = 0;
  size_t nc_points = 0;
  for (const auto& c : t.nullclines.x_curves)
    for (size_t k = 0; k < c.size(); k += 2, ++nc_points) worst_nc = std::max(worst_nc, distance_to_line(&c[k], f.x0, ncx_dir));
  for (const auto& c : t.nullclines.y_curves)
    for (size_t k = 0; k < c.size(); k += 2, ++nc_points) worst_nc = std::max(worst_nc, distance_to_line(&c[k], f.x0, ncy_dir));
  EXPECT_EQ(t.nullclines.x_curves.size(), 1u);
  EXPECT_EQ(t.nullclines.y_curves.size(), 1u);
  EXPECT_GT(nc_points, 200u);
  EXPECT_LT(worst_nc, 1e-12);
  // The separatrix: the stable eigenline through x0 along (1, −2), across the whole domain.
  ASSERT_EQ(t.separatrices.size(), 1u);
  const std::vector<double>& s = t.separatrices[0];
  const double stable_dir[2] = {1, -2};
  double worst = 0, lo_end = 1e9, hi_end = -1e9;
  for (size_t k = 0; k < s.size(); k += 2) {
    worst = std::max(worst, distance_to_line(&s[k], f.x0, stable_dir));
    lo_end = std::min(lo_end, s[k + 1]);
    hi_end = std::max(hi_end, s[k + 1]);
  }
  const double grid_step = (t.hi[0] - t.lo[0]) / 199.0;
  EXPECT_LT(worst, 1e-9);
  EXPECT_LT(lo_end, t.lo[1] + grid_step);   // reaches both edges of the domain
  EXPECT_GT(hi_end, t.hi[1] - grid_step);
  measured("linear saddle: |x - x0| = " + sci(err) + ", nullcline max distance " + sci(worst_nc) +
                    ", separatrix max distance " + sci(worst) + " (grid step " + std::to_string(grid_step) + ")");
}

TEST(TopographyPlanted, ToggleSwitch) {
  const ToggleSwitch f;
  const auto truth = toggle_roots(f.a);
  ASSERT_EQ(truth.size(), 3u);
  const TopographyResult t = run(MPI_COMM_WORLD, f, 0, 3.2);
  ASSERT_EQ(t.points.size(), 3u);
  int stable = 0, saddles = 0;
  double worst = 0;
  for (const auto& root : truth) {
    double best = 1e9;
    const FixedPoint* match = nullptr;
    for (const auto& p : t.points) {
      const double d = std::hypot(p.x[0] - root[0], p.x[1] - root[1]);
      if (d < best) {
        best = d;
        match = &p;
      }
    }
    worst = std::max(worst, best);
    const bool on_diagonal = std::abs(root[0] - root[1]) < 1e-6;
    EXPECT_EQ(match->type, on_diagonal ? 0 : -1);
    EXPECT_EQ(match->kind, on_diagonal ? FixedPointKind::saddle : FixedPointKind::stable_node);
    stable += match->type == -1;
    saddles += match->type == 0;
  }
  EXPECT_LT(worst, 1e-8);
  EXPECT_EQ(stable, 2);
  EXPECT_EQ(saddles, 1);
  // The separatrix is the diagonal, from one corner of the domain to the other.
  ASSERT_EQ(t.separatrices.size(), 1u);
  const std::vector<double>& s = t.separatrices[0];
  const double diag_dir[2] = {1, 1}, origin[2] = {0, 0};
  double off = 0, lo_end = 1e9, hi_end = -1e9;
  for (size_t k = 0; k < s.size(); k += 2) {
    off = std::max(off, distance_to_line(&s[k], origin, diag_dir));
    lo_end = std::min(lo_end, s[k]);
    hi_end = std::max(hi_end, s[k]);
  }
  const double grid_step = (t.hi[0] - t.lo[0]) / 199.0;
  EXPECT_LT(off, grid_step);
  EXPECT_LT(lo_end, t.lo[0] + grid_step);
  EXPECT_GT(hi_end, t.hi[0] - grid_step);
  measured("toggle switch: max fixed-point error " + sci(worst) + ", separatrix max distance from x = y " +
                    sci(off) + " (grid step " + std::to_string(grid_step) + "), " + std::to_string(s.size() / 2) + " points");
}

// The same answer at any rank count: the world's result equals this rank's alone.
TEST(TopographyPlanted, RankCountDoesNotChangeTheResult) {
  const ToggleSwitch f;
  const TopographyResult world = run(MPI_COMM_WORLD, f, 0, 3.2), self = run(MPI_COMM_SELF, f, 0, 3.2);
  ASSERT_EQ(world.points.size(), self.points.size());
  for (size_t k = 0; k < world.points.size(); ++k) {
    EXPECT_EQ(world.points[k].x, self.points[k].x);
    EXPECT_EQ(world.points[k].confidence, self.points[k].confidence);
  }
  EXPECT_EQ(world.separatrices, self.separatrices);
  EXPECT_EQ(world.nullclines.x_curves, self.nullclines.x_curves);
}
