// uns['grid_velocity_<basis>'] against dynamo's velocity_on_grid written out naively on one rank
// (every cell, a full sort per grid point): grid axes with dynamo's margins, the n = max(10, N/50)
// nearest cells (ties by index: positions on a lattice make many equal distances), Gaussian
// weights, the covariance D, and the NaN cut-offs; with the candidates gathered and with the
// bisection, at any rank count. Non-finite cells are left out, as dynamo does.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>

#include "evaluate/neighbor_lists.hpp"
#include "test_support.hpp"
#include "transition/grid_velocity.hpp"

using namespace velofield;

namespace {

constexpr int64_t kCells = 1234;

// Position and velocity of cell i, identical on every rank: a lattice (equal distances), with
// the velocity a smooth field plus noise; cell 17 has a NaN velocity.
void cell(int64_t i, double* e, double* v) {
  std::mt19937_64 rng(static_cast<uint64_t>(i) * 7 + 1);
  std::uniform_int_distribution<int> lattice(0, 40);
  std::normal_distribution<double> noise(0, 0.3);
  e[0] = 0.25 * lattice(rng) - 3;
  e[1] = 0.5 * lattice(rng) * (e[0] > 0 ? 1 : 0.5);
  v[0] = std::sin(e[1]) + noise(rng);
  v[1] = std::cos(e[0]) + noise(rng);
  if (i == 17) v[1] = std::nan("");
}

struct Naive {
  std::vector<double> x_grid, v_grid, diffusion;
};

Naive naive_grid(int64_t m) {
  std::vector<std::array<double, 4>> cells;
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < kCells; ++i) {
    double e[2], v[2];
    cell(i, e, v);
    if (!std::isfinite(e[0] + e[1] + v[0] + v[1])) continue;
    cells.push_back({e[0], e[1], v[0], v[1]});
    ids.push_back(i);
  }
  const int64_t n = static_cast<int64_t>(cells.size());
  Naive out;
  std::vector<double> axis[2];
  for (int k = 0; k < 2; ++k) {
    double lo = 1e300, hi = -1e300;
    for (const auto& c : cells) {
      lo = std::min(lo, c[static_cast<size_t>(k)]);
      hi = std::max(hi, c[static_cast<size_t>(k)]);
    }
    const double low = lo - 0.01 * (hi - lo), high = hi + 0.01 * (hi - low);
    for (int64_t t = 0; t < m; ++t) axis[k].push_back(t == m - 1 ? high : low + static_cast<double>(t) * (high - low) / static_cast<double>(m - 1));
    out.x_grid.insert(out.x_grid.end(), axis[k].begin(), axis[k].end());
  }
  const double scale = 0.5 * 0.5 * ((axis[0][1] - axis[0][0]) + (axis[1][1] - axis[1][0]));
  const int64_t nn = std::max<int64_t>(10, n / 50);
  const int64_t P = m * m;
  out.v_grid.assign(static_cast<size_t>(2 * P), 0);
  out.diffusion.assign(static_cast<size_t>(4 * P), 0);
  std::vector<double> mass(static_cast<size_t>(P)), length(static_cast<size_t>(P));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t p = 0; p < P; ++p) {
    const double gx = axis[0][static_cast<size_t>(p % m)], gy = axis[1][static_cast<size_t>(p / m)];
    auto d2 = [&](int64_t c) {
      const double dx = cells[static_cast<size_t>(c)][0] - gx, dy = cells[static_cast<size_t>(c)][1] - gy;
      return dx * dx + dy * dy;
    };
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return d2(a) != d2(b) ? d2(a) < d2(b) : ids[static_cast<size_t>(a)] < ids[static_cast<size_t>(b)]; });
    double w_sum = 0, wx = 0, wy = 0, mx = 0, my = 0, xx = 0, xy = 0, yy = 0, ax = 0, ay = 0;
    for (int64_t k = 0; k < nn; ++k) {
      const auto& c = cells[static_cast<size_t>(order[static_cast<size_t>(k)])];
      const double dist = std::sqrt(d2(order[static_cast<size_t>(k)]));
      const double w = std::exp(-0.5 * (dist / scale) * (dist / scale)) / (scale * std::sqrt(2 * M_PI));
      w_sum += w;
      wx += w * c[2];
      wy += w * c[3];
      mx += c[2];
      my += c[3];
      xx += c[2] * c[2];
      xy += c[2] * c[3];
      yy += c[3] * c[3];
      ax += std::fabs(c[2]);
      ay += std::fabs(c[3]);
    }
    const double den = std::max(1.0, w_sum), k = static_cast<double>(nn);
    out.v_grid[static_cast<size_t>(p)] = wx / den;
    out.v_grid[static_cast<size_t>(P + p)] = wy / den;
    out.diffusion[static_cast<size_t>(4 * p)] = (xx / k - (mx / k) * (mx / k)) / 2;
    out.diffusion[static_cast<size_t>(4 * p + 1)] = out.diffusion[static_cast<size_t>(4 * p + 2)] = (xy / k - (mx / k) * (my / k)) / 2;
    out.diffusion[static_cast<size_t>(4 * p + 3)] = (yy / k - (my / k) * (my / k)) / 2;
    mass[static_cast<size_t>(p)] = std::hypot(wx / den, wy / den);
    length[static_cast<size_t>(p)] = (ax + ay) / k;
  }
  const double min_mass = std::min(1e-5, 0.9 * *std::max_element(mass.begin(), mass.end()));
  std::vector<double> sorted = length;
  std::sort(sorted.begin(), sorted.end());
  const double h = 0.05 * static_cast<double>(P - 1);
  const size_t lo = static_cast<size_t>(h);
  const double cut = sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
  for (int64_t p = 0; p < P; ++p)
    if (mass[static_cast<size_t>(p)] < min_mass || length[static_cast<size_t>(p)] < cut) out.v_grid[static_cast<size_t>(p)] = std::nan("");
  return out;
}

void expect_close(const DenseArray& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.values.size(), want.size()) << what;
  int64_t nan_mismatch = 0, nans = 0;
  double worst = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    const double a = got.values.as_double(k), b = want[k];
    nans += std::isnan(b);
    if (std::isnan(a) || std::isnan(b)) {
      nan_mismatch += std::isnan(a) != std::isnan(b);
      continue;
    }
    worst = std::max(worst, std::fabs(a - b) / std::max(1.0, std::fabs(b)));
  }
  EXPECT_EQ(nan_mismatch, 0) << what;
  EXPECT_LE(worst, 1e-12) << what;
  if (std::string(what) == "V_grid") {
    EXPECT_GT(nans, 30) << "the cut-offs were exercised";
  }
}

}  // namespace

TEST(ProjectionGrid, MatchesDynamosGridOnEveryCellExactly) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, kCells, 1);
  DenseArray e = DenseArray::zeros({d.n_obs_local, 2}), v = DenseArray::zeros({d.n_obs_local, 2});
  for (int64_t i = 0; i < d.n_obs_local; ++i) cell(d.obs_begin + i, e.values.data<double>() + 2 * i, v.values.data<double>() + 2 * i);
  const Naive want = naive_grid(30);
  for (int64_t gather_limit : {int64_t(1) << 20, int64_t(0)}) {   // gathered candidates, then the bisection
    GridVelocityOptions o;
    o.points_per_axis = 30;
    o.gather_limit = gather_limit;
    GridVelocityReport report;
    const UnsNode grid = grid_velocity(d, e, v, o, report);
    EXPECT_EQ(report.cells, kCells - 1);
    EXPECT_EQ(report.neighbors, (kCells - 1) / 50);
    EXPECT_EQ(grid.at("X_grid").array.shape, (std::vector<int64_t>{2, 30}));
    EXPECT_EQ(grid.at("V_grid").array.shape, (std::vector<int64_t>{2, 30, 30}));
    EXPECT_EQ(grid.at("D").array.shape, (std::vector<int64_t>{900, 2, 2}));
    expect_close(grid.at("X_grid").array, want.x_grid, "X_grid");
    expect_close(grid.at("V_grid").array, want.v_grid, "V_grid");
    expect_close(grid.at("D").array, want.diffusion, "D");
  }
}
