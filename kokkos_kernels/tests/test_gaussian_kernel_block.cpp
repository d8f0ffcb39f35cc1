#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gaussian_kernel_block.hpp"

using namespace velofield::kernels;

namespace {
// Deterministic pseudo-random numbers in [lo, hi) (an LCG: the tests need no statistical quality).
struct Lcg {
  uint64_t s;
  double operator()(double lo, double hi) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * static_cast<double>(s >> 11) * 0x1.0p-53;
  }
};
std::vector<double> random_matrix(int64_t rows, int64_t cols, uint64_t seed, double lo, double hi) {
  Lcg r{seed};
  std::vector<double> a(static_cast<size_t>(rows * cols));
  for (auto& v : a) v = r(lo, hi);
  return a;
}
}  // namespace

TEST(GaussianKernelBlock, ClosedFormEntries) {
  // x = (0,0), (1,2); c = (0,0), (3,-1), (1,2): squared distances 0, 10, 5 / 5, 13, 0.
  std::vector<double> x{0, 0, 1, 2}, c{0, 0, 3, -1, 1, 2}, u(6);
  const double beta = 0.3;
  gaussian_kernel_block(2, 3, 2, x.data(), c.data(), beta, u.data());
  const double expected[6] = {1, std::exp(-3.0), std::exp(-1.5), std::exp(-1.5), std::exp(-3.9), 1};
  for (int e = 0; e < 6; ++e) EXPECT_DOUBLE_EQ(u[e], expected[e]) << "entry " << e;
}

TEST(GaussianKernelBlock, InnerProductExpansionMatchesDirectSumForCentredData) {
  const int64_t rows = 300, centres = 70, dim = 30;
  auto x = random_matrix(rows, dim, 1, -3, 3);
  auto c = random_matrix(centres, dim, 2, -3, 3);
  const double beta = 0.05;
  std::vector<double> direct(rows * centres), expanded(rows * centres), x_sq(rows), c_sq(centres);
  gaussian_kernel_block(rows, centres, dim, x.data(), c.data(), beta, direct.data());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t m = 0; m < centres; ++m) {
      double g = 0;
      for (int64_t q = 0; q < dim; ++q) g += x[i * dim + q] * c[m * dim + q];
      expanded[i * centres + m] = g;
    }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t q = 0; q < dim; ++q) x_sq[i] += x[i * dim + q] * x[i * dim + q];
  for (int64_t m = 0; m < centres; ++m)
    for (int64_t q = 0; q < dim; ++q) c_sq[m] += c[m * dim + q] * c[m * dim + q];
  gaussian_kernel_from_inner_products(rows, centres, x_sq.data(), c_sq.data(), beta, expanded.data());
  double worst = 0;
  for (int64_t e = 0; e < rows * centres; ++e) worst = std::max(worst, std::abs(expanded[e] / direct[e] - 1));
  EXPECT_LT(worst, 1e-12);
}

TEST(GaussianKernelBlock, CoincidentPointsGiveOneNotAboveOne) {
  // Rounding in x_sq + c_sq - 2 g can go negative for a point equal to a centre: clamped to 0.
  std::vector<double> x_sq{0.1 * 0.1 + 0.7 * 0.7}, c_sq{0.1 * 0.1 + 0.7 * 0.7};
  std::vector<double> g{0.1 * 0.1 + 0.7 * 0.7 + 1e-17};
  gaussian_kernel_from_inner_products(1, 1, x_sq.data(), c_sq.data(), 2.0, g.data());
  EXPECT_EQ(g[0], 1.0);
}

TEST(GaussianKernelBlock, ScaleRowsOutOfPlaceInPlaceAndStrided) {
  std::vector<double> a{1, 2, 3, 4, 5, 6}, w{2, -1}, out(6);
  scale_rows(2, 3, w.data(), a.data(), 3, out.data(), 3);
  EXPECT_EQ(out, (std::vector<double>{2, 4, 6, -4, -5, -6}));
  scale_rows(2, 3, w.data(), a.data(), 3, a.data(), 3);
  EXPECT_EQ(a, out);
  // Into the first 3 of 5 columns: the other two keep their values.
  std::vector<double> wide{0, 0, 0, 7, 8, 0, 0, 0, 9, 10};
  scale_rows(2, 3, w.data(), out.data(), 3, wide.data(), 5);
  EXPECT_EQ(wide, (std::vector<double>{4, 8, 12, 7, 8, 4, 5, 6, 9, 10}));
}
