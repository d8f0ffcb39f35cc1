#include <gtest/gtest.h>

#include <cmath>

#include "fast_pow.hpp"

using velofield::kernels::fast_pow;

TEST(FastPow, RelativeErrorOverTheRangeUmapUses) {
  // Squared distances from 1e-8 to 1e4 and the exponents of UMAP's curves (b, b - 1, 2b).
  double worst = 0;
  for (double y : {0.334, 0.8951, 1.3342, 2.0, 2.668}) {
    for (int i = 0; i <= 2000; ++i) {
      const double x = std::pow(10.0, -8.0 + 12.0 * i / 2000.0);
      const double want = std::pow(x, y);
      const double got = fast_pow(static_cast<float>(x), static_cast<float>(y));
      worst = std::max(worst, std::fabs(got - want) / want);
    }
  }
  EXPECT_LT(worst, 3e-5);
  EXPECT_NEAR(fast_pow(1.0f, 1.3342f), 1.0f, 2e-5);
}

TEST(FastPow, ZeroAndDenormalsGiveTinyFiniteValues) {
  for (float x : {0.0f, 1e-40f, 1e-45f}) {
    const float p = fast_pow(x, 1.3342f);
    EXPECT_TRUE(std::isfinite(p));
    EXPECT_GE(p, 0.0f);
    EXPECT_LT(p, 1e-37f);
  }
  EXPECT_TRUE(std::isfinite(fast_pow(3e38f, 0.9f)));
}
