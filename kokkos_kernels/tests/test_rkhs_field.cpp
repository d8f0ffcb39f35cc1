#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gaussian_kernel_block.hpp"
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

struct RandomField {
  int64_t centres, dim;
  std::vector<double> ctrl, coef;
  double beta;
  RandomField(int64_t m, int64_t d, double b, uint64_t seed) : centres(m), dim(d), ctrl(m * d), coef(m * d), beta(b) {
    Lcg r{seed};
    for (auto& v : ctrl) v = r(-2, 2);
    for (auto& v : coef) v = r(-1, 1);
  }
  RkhsField view() const { return {centres, dim, ctrl.data(), coef.data(), beta}; }
};

// f at one point by the definition.
std::vector<double> reference_value(const RandomField& f, const double* x) {
  std::vector<double> out(f.dim, 0.0);
  for (int64_t m = 0; m < f.centres; ++m) {
    double d2 = 0;
    for (int64_t q = 0; q < f.dim; ++q) d2 += (x[q] - f.ctrl[m * f.dim + q]) * (x[q] - f.ctrl[m * f.dim + q]);
    for (int64_t p = 0; p < f.dim; ++p) out[p] += std::exp(-f.beta * d2) * f.coef[m * f.dim + p];
  }
  return out;
}
}  // namespace

TEST(RkhsField, ValuesMatchTheDefinitionAndTheKernelBlockTimesC) {
  RandomField f(40, 5, 0.7, 3);
  const int64_t n = 50;
  std::vector<double> x(n * f.dim), values(n * f.dim), u(n * f.centres);
  Lcg r{9};
  for (auto& v : x) v = r(-2.5, 2.5);
  rkhs_field_values(f.view(), n, x.data(), values.data());
  gaussian_kernel_block(n, f.centres, f.dim, x.data(), f.ctrl.data(), f.beta, u.data());
  for (int64_t i = 0; i < n; ++i) {
    auto ref = reference_value(f, &x[i * f.dim]);
    for (int64_t p = 0; p < f.dim; ++p) {
      double uc = 0;
      for (int64_t m = 0; m < f.centres; ++m) uc += u[i * f.centres + m] * f.coef[m * f.dim + p];
      EXPECT_NEAR(values[i * f.dim + p], ref[p], 1e-13);
      EXPECT_NEAR(values[i * f.dim + p], uc, 1e-13);
    }
  }
}

TEST(RkhsField, AnalyticJacobianEqualsCentralFiniteDifference) {
  for (int64_t dim : {2, 3, 30}) {
    RandomField f(60, dim, dim == 30 ? 0.02 : 0.8, 11 + dim);
    const int64_t n = 8;
    std::vector<double> x(n * dim), jac(n * dim * dim);
    Lcg r{5};
    for (auto& v : x) v = r(-1.5, 1.5);
    rkhs_field_jacobians(f.view(), n, x.data(), jac.data());
    const double h = 1e-5;
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t q = 0; q < dim; ++q) {
        std::vector<double> xp(x.begin() + i * dim, x.begin() + (i + 1) * dim), xm = xp;
        xp[q] += h;
        xm[q] -= h;
        auto fp = reference_value(f, xp.data()), fm = reference_value(f, xm.data());
        for (int64_t p = 0; p < dim; ++p) {
          const double fd = (fp[p] - fm[p]) / (2 * h);
          worst = std::max(worst, std::abs(jac[i * dim * dim + p * dim + q] - fd));
          scale = std::max(scale, std::abs(fd));
        }
      }
    EXPECT_LT(worst / scale, 1e-6) << "dim " << dim;
    EXPECT_GT(scale, 1e-3) << "the test field must not be flat";
  }
}

TEST(RkhsField, JacobianVectorProductsEqualJTimesV) {
  RandomField f(35, 4, 0.5, 21);
  const int64_t n = 20;
  std::vector<double> x(n * 4), v(n * 4), jac(n * 16), jv(n * 4);
  Lcg r{8};
  for (auto& e : x) e = r(-2, 2);
  for (auto& e : v) e = r(-1, 1);
  rkhs_field_jacobians(f.view(), n, x.data(), jac.data());
  rkhs_jacobian_vector_products(f.view(), n, x.data(), v.data(), jv.data());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < 4; ++p) {
      double s = 0;
      for (int64_t q = 0; q < 4; ++q) s += jac[i * 16 + p * 4 + q] * v[i * 4 + q];
      EXPECT_NEAR(jv[i * 4 + p], s, 1e-13);
    }
}

TEST(RkhsField, SingleCentreJacobianIsTheClosedForm) {
  // f(x) = exp(-b||x - c||²) C: J = -2b k(x) C (x - c)ᵀ, curl (2-D) = -2b k (C_1 (x_0-c_0) - C_0 (x_1-c_1)).
  const double b = 0.4;
  std::vector<double> c{0.5, -1}, C{2, 3}, x{1.5, 0.25}, jac(4);
  rkhs_field_jacobians({1, 2, c.data(), C.data(), b}, 1, x.data(), jac.data());
  const double dx0 = 1.0, dx1 = 1.25, k = std::exp(-b * (dx0 * dx0 + dx1 * dx1));
  EXPECT_DOUBLE_EQ(jac[0], -2 * b * k * C[0] * dx0);
  EXPECT_DOUBLE_EQ(jac[1], -2 * b * k * C[0] * dx1);
  EXPECT_DOUBLE_EQ(jac[2], -2 * b * k * C[1] * dx0);
  EXPECT_DOUBLE_EQ(jac[3], -2 * b * k * C[1] * dx1);
}
