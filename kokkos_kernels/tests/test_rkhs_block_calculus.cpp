#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gaussian_kernel_block.hpp"
#include "rkhs_block_calculus.hpp"
#include "rkhs_field.hpp"

using namespace velofield::kernels;

namespace {
struct Lcg {
  uint64_t s;
  double operator()(double lo, double hi) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * static_cast<double>(s >> 11) * 0x1.0p-53;
  }
};
}  // namespace

// The block route (U and two GEMM products, here naive loops) gives the trace of the Jacobian and
// J·f of the per-point kernels.
TEST(RkhsBlockCalculus, DivergenceAndAccelerationEqualTraceAndJf) {
  const int64_t n = 40, m = 25, d = 6;
  const double beta = 0.3;
  std::vector<double> x(n * d), ctrl(m * d), coef(m * d);
  Lcg r{17};
  for (auto& v : x) v = r(-2, 2);
  for (auto& v : ctrl) v = r(-2, 2);
  for (auto& v : coef) v = r(-1, 1);
  RkhsField field{m, d, ctrl.data(), coef.data(), beta};

  std::vector<double> u(n * m), f(n * d), jac(n * d * d), jf(n * d);
  gaussian_kernel_block(n, m, d, x.data(), ctrl.data(), beta, u.data());
  rkhs_field_values(field, n, x.data(), f.data());
  rkhs_field_jacobians(field, n, x.data(), jac.data());
  rkhs_jacobian_vector_products(field, n, x.data(), f.data(), jf.data());

  std::vector<double> t1(n * m), t2(n * m), dd(m), s(n), div(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < m; ++k)
      for (int64_t q = 0; q < d; ++q) {
        t1[i * m + k] += x[i * d + q] * coef[k * d + q];
        t2[i * m + k] += f[i * d + q] * ctrl[k * d + q];
      }
  for (int64_t k = 0; k < m; ++k)
    for (int64_t q = 0; q < d; ++q) dd[k] += coef[k * d + q] * ctrl[k * d + q];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t q = 0; q < d; ++q) s[i] += x[i * d + q] * f[i * d + q];

  rkhs_divergence_from_blocks(n, m, u.data(), t1.data(), dd.data(), beta, div.data());
  rkhs_acceleration_weights(n, m, u.data(), s.data(), t2.data());
  for (int64_t i = 0; i < n; ++i) {
    double trace = 0;
    for (int64_t p = 0; p < d; ++p) trace += jac[i * d * d + p * d + p];
    EXPECT_NEAR(div[i], trace, 1e-12) << "cell " << i;
    for (int64_t p = 0; p < d; ++p) {
      double a = 0;
      for (int64_t k = 0; k < m; ++k) a += t2[i * m + k] * coef[k * d + p];
      EXPECT_NEAR(-2 * beta * a, jf[i * d + p], 1e-12) << "cell " << i << " component " << p;
    }
  }
}
