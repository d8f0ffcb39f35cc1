// Evenly spaced streamlines on fields with known integral curves: parallel lines for a uniform flow,
// circles for a rotation, nothing inside closed cells; and the Jobard–Lefer separation invariant.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "plot/streamlines.hpp"

using namespace velofield::plot;

namespace {

GridField field(int64_t n, double lo, double hi, double (*u)(double, double), double (*v)(double, double)) {
  GridField f;
  f.nx = f.ny = n;
  f.x0 = f.y0 = lo;
  f.x1 = f.y1 = hi;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < n; ++i) {
      const double x = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(n - 1);
      const double y = lo + (hi - lo) * static_cast<double>(j) / static_cast<double>(n - 1);
      f.u.push_back(u(x, y));
      f.v.push_back(v(x, y));
    }
  return f;
}

// The smallest distance between points of two different lines (display units).
double min_distance_between_lines(const std::vector<Streamline>& lines, double sx, double sy) {
  double best = std::numeric_limits<double>::infinity();
  for (size_t a = 0; a < lines.size(); ++a)
    for (size_t b = a + 1; b < lines.size(); ++b)
      for (size_t p = 0; p < lines[a].x.size(); ++p)
        for (size_t q = 0; q < lines[b].x.size(); ++q)
          best = std::min(best, std::hypot((lines[a].x[p] - lines[b].x[q]) * sx, (lines[a].y[p] - lines[b].y[q]) * sy));
  return best;
}

}  // namespace

TEST(Streamlines, UniformFlowGivesEvenlySpacedParallelLines) {
  const GridField f = field(20, 0, 1, [](double, double) { return 1.0; }, [](double, double) { return 0.0; });
  StreamlineOptions o;
  o.separation = 10;
  const double scale = 200;   // the unit square is 200 × 200 display units: about 20 lines
  const auto lines = evenly_spaced_streamlines(f, scale, scale, o);
  ASSERT_GE(lines.size(), 18u);
  ASSERT_LE(lines.size(), 21u);
  std::vector<double> heights;
  for (const auto& l : lines) {
    for (size_t k = 1; k < l.x.size(); ++k) {
      EXPECT_NEAR(l.y[k], l.y[0], 1e-12);   // horizontal
      EXPECT_GT(l.x[k], l.x[k - 1]);       // in the direction of the flow
    }
    EXPECT_GT((l.x.back() - l.x.front()) * scale, 190);   // across the whole domain
    heights.push_back(l.y[0] * scale);
  }
  std::sort(heights.begin(), heights.end());
  for (size_t k = 1; k < heights.size(); ++k) {
    EXPECT_GE(heights[k] - heights[k - 1], o.separation * 0.999);   // never closer than d_sep ...
    EXPECT_LE(heights[k] - heights[k - 1], o.separation * 1.001);   // ... and no gaps: seeded at d_sep beside each other
  }
}

TEST(Streamlines, RotationGivesCirclesAndRk4BeatsRk2) {
  const GridField f = field(81, -1, 1, [](double, double y) { return -y; }, [](double x, double) { return x; });
  double drift[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    StreamlineOptions o;
    o.separation = 12;
    o.step_ratio = 0.5;
    o.integrator = k == 0 ? Integrator::rk4 : Integrator::rk2;
    const auto lines = evenly_spaced_streamlines(f, 100, 100, o);
    ASSERT_GE(lines.size(), 5u);
    for (const auto& l : lines) {
      const double r0 = std::hypot(l.x[0], l.y[0]);
      if (r0 < 0.2 || r0 > 0.9) continue;   // bilinear interpolation is exact for this linear field
      for (size_t p = 0; p < l.x.size(); ++p) drift[k] = std::max(drift[k], std::abs(std::hypot(l.x[p], l.y[p]) / r0 - 1));
      // Counter-clockwise: the angle increases along the line.
      const double a0 = std::atan2(l.y[0], l.x[0]), a1 = std::atan2(l.y[1], l.x[1]);
      EXPECT_GT(std::remainder(a1 - a0, 2 * M_PI), 0);
    }
  }
  std::printf("rotation: max relative radius drift rk4 %.2e, rk2 %.2e\n", drift[0], drift[1]);
  EXPECT_LT(drift[0], 1e-4);
  EXPECT_GT(drift[1], drift[0]);
}

TEST(Streamlines, LinesKeepTheirDistanceAndStayOutOfClosedCells) {
  // A saddle flow (u = x, v = -y) with the nodes of x > 0.3 closed (NaN, as dynamo marks weak nodes).
  GridField f = field(41, -1, 1, [](double x, double) { return x; }, [](double, double y) { return -y; });
  for (int64_t j = 0; j < f.ny; ++j)
    for (int64_t i = 0; i < f.nx; ++i)
      if (-1 + 2.0 * static_cast<double>(i) / 40 > 0.3) f.u[static_cast<size_t>(j * f.nx + i)] = std::nan("");
  StreamlineOptions o;
  o.separation = 8;
  const auto lines = evenly_spaced_streamlines(f, 100, 100, o);
  ASSERT_GE(lines.size(), 10u);
  double max_x = -1;
  for (const auto& l : lines)
    for (double x : l.x) max_x = std::max(max_x, x);
  // The last open grid cell ends at the last open node (x = 0.3); nothing beyond it.
  EXPECT_LE(max_x, 0.3 + 1e-12);
  EXPECT_GT(max_x, 0.2);
  // Jobard–Lefer: a line stops at d_test = separation / 2 from any other.
  EXPECT_GE(min_distance_between_lines(lines, 100, 100), o.test_ratio * o.separation * (1 - 1e-9));
}

TEST(Streamlines, NoLinesWithoutAField) {
  GridField f = field(10, 0, 1, [](double, double) { return 0.0; }, [](double, double) { return 0.0; });
  EXPECT_TRUE(evenly_spaced_streamlines(f, 100, 100, {}).empty());
  f = field(10, 0, 1, [](double, double) { return std::nan(""); }, [](double, double) { return 1.0; });
  EXPECT_TRUE(evenly_spaced_streamlines(f, 100, 100, {}).empty());
  EXPECT_EQ(max_grid_speed(f), 0.0);
}
