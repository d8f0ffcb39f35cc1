// The Dormand–Prince 5(4) solver (ode_dopri5.hpp) against closed forms: a scalar decay and a damped
// rotation dx/dt = A x with A = a·I + b·J (exp(At) = e^{at}·rotation by bt), each within a small
// multiple of its tolerance; the gradients through the unrolled steps with respect to the initial
// state and to a parameter of A against the analytic derivatives and central finite differences;
// the step budget's fallback; and bad output times. Every rank runs every test (it links torch).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "velocity/models/ode_dopri5.hpp"

using namespace velofield::models;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

// y(t) for dx/dt = (a I + b J) x, J = [[0, 1], [-1, 0]], at every time.
std::vector<std::array<double, 2>> rotation_truth(double a, double b, double x0, double x1, const std::vector<double>& times) {
  std::vector<std::array<double, 2>> out;
  for (double t : times) {
    const double e = std::exp(a * t), c = std::cos(b * t), s = std::sin(b * t);
    out.push_back({e * (c * x0 + s * x1), e * (-s * x0 + c * x1)});
  }
  return out;
}

torch::Tensor rotation_matrix(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::stack({torch::stack({a, b}), torch::stack({-b, a})});
}

}  // namespace

TEST(ModelsDopri5, ScalarDecayMatchesTheExponential) {
  const double k = 1.3, y0 = 1.5;
  const std::vector<double> times{0, 0.1, 0.5, 1.0, 2.0, 4.0};
  Dopri5Options o;
  o.rtol = o.atol = 1e-5;
  const Dopri5Result r = dopri5_solve([&](double, const torch::Tensor& y) { return -k * y; },
                                      torch::full({1}, y0, kD), times, o);
  ASSERT_EQ(r.states.size(0), static_cast<int64_t>(times.size()));
  double worst = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    const double truth = y0 * std::exp(-k * times[i]);
    worst = std::max(worst, std::abs(r.states[static_cast<int64_t>(i)][0].item<double>() - truth) / (o.atol + o.rtol * truth));
  }
  std::printf("[ dopri5 ] decay: max error %.3g tolerance units, %lld accepted %lld rejected steps\n", worst,
              static_cast<long long>(r.accepted), static_cast<long long>(r.rejected));
  EXPECT_LT(worst, 10.0);
  EXPECT_EQ(r.forced_steps, 0);
  EXPECT_GT(r.accepted, 3);   // adaptive: more than one step over [0, 4], fewer than the budget
  EXPECT_LT(r.accepted + r.rejected, o.max_steps);
  // A tighter tolerance is more accurate: the error control works.
  o.rtol = o.atol = 1e-9;
  const Dopri5Result tight = dopri5_solve([&](double, const torch::Tensor& y) { return -k * y; },
                                          torch::full({1}, y0, kD), times, o);
  EXPECT_NEAR(tight.states[5][0].item<double>(), y0 * std::exp(-k * 4.0), 1e-8);
  EXPECT_GT(tight.accepted, r.accepted);
}

TEST(ModelsDopri5, LinearSystemMatchesMatrixExponential) {
  const double a = -0.3, b = 2.0;
  const std::vector<double> times{0, 0.25, 0.7, 1.9, 3.0};
  const auto truth = rotation_truth(a, b, 1.0, -0.5, times);
  const torch::Tensor A = rotation_matrix(torch::tensor(a, kD), torch::tensor(b, kD));
  // A batch of three copies of the state, as LatentVelo solves many cells at once: rows are states.
  const torch::Tensor y0 = torch::tensor({1.0, -0.5}, kD).repeat({3, 1});
  Dopri5Options o;
  const Dopri5Result r = dopri5_solve([&](double, const torch::Tensor& y) { return torch::matmul(y, A.t()); }, y0, times, o);
  ASSERT_EQ(r.states.sizes(), (std::vector<int64_t>{5, 3, 2}));
  double worst = 0;
  for (size_t i = 0; i < times.size(); ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t d = 0; d < 2; ++d) {
        const double want = truth[i][static_cast<size_t>(d)];
        worst = std::max(worst, std::abs(r.states[static_cast<int64_t>(i)][c][d].item<double>() - want) /
                                    (o.atol + o.rtol * std::abs(want)));
      }
  std::printf("[ dopri5 ] rotation: max error %.3g tolerance units, %lld steps\n", worst, static_cast<long long>(r.accepted));
  EXPECT_LT(worst, 10.0);
  // float32 states work too (LatentVelo's default precision), to float32-sized tolerances.
  const Dopri5Result f = dopri5_solve([&](double, const torch::Tensor& y) { return torch::matmul(y, A.t().to(torch::kFloat)); },
                                      y0.to(torch::kFloat), times, o);
  EXPECT_EQ(f.states.scalar_type(), torch::kFloat);
  EXPECT_NEAR(f.states[4][0][0].item<double>(), truth[4][0], 1e-4);
}

TEST(ModelsDopri5, GradientsMatchAnalyticAndFiniteDifferences) {
  const double a = -0.2, b = 1.5, T = 2.5;
  const std::vector<double> times{0, 1.0, T};
  Dopri5Options o;
  o.rtol = o.atol = 1e-10;   // tight, so that the finite differences see the exact flow
  const double w0 = 0.7, w1 = -1.1;   // loss = w · y(T)
  auto loss_of = [&](const torch::Tensor& av, const torch::Tensor& bv, const torch::Tensor& y0) {
    const torch::Tensor A = rotation_matrix(av, bv);
    const Dopri5Result r = dopri5_solve([&](double, const torch::Tensor& y) { return torch::matmul(A, y); }, y0, times, o);
    return w0 * r.states[2][0] + w1 * r.states[2][1];
  };
  torch::Tensor av = torch::tensor(a, kD).requires_grad_(true), bv = torch::tensor(b, kD).requires_grad_(true);
  torch::Tensor y0 = torch::tensor({0.8, 0.3}, kD).requires_grad_(true);
  loss_of(av, bv, y0).backward();
  const double gy0 = y0.grad()[0].item<double>(), gy1 = y0.grad()[1].item<double>(), gb = bv.grad().item<double>(),
               ga = av.grad().item<double>();
  // Analytic: y(T) = e^{aT} R(bT) y0, so ∂L/∂y0 = (e^{aT} R(bT))ᵀ w, ∂L/∂a = T·L, ∂L/∂b = T·w·(e^{aT} J R(bT) y0).
  const double e = std::exp(a * T), c = std::cos(b * T), s = std::sin(b * T);
  const double x0 = 0.8, x1 = 0.3;
  const double y_T0 = e * (c * x0 + s * x1), y_T1 = e * (-s * x0 + c * x1);
  EXPECT_NEAR(gy0, e * (c * w0 - s * w1), 1e-7);
  EXPECT_NEAR(gy1, e * (s * w0 + c * w1), 1e-7);
  EXPECT_NEAR(ga, T * (w0 * y_T0 + w1 * y_T1), 1e-7);
  EXPECT_NEAR(gb, T * (w0 * y_T1 - w1 * y_T0), 1e-7);
  // Central finite differences of the solver itself.
  const double h = 1e-5;
  torch::NoGradGuard no_grad;
  auto L = [&](double da, double db, double d0, double d1) {
    return loss_of(torch::tensor(a + da, kD), torch::tensor(b + db, kD), torch::tensor({x0 + d0, x1 + d1}, kD)).item<double>();
  };
  const double fd_b = (L(0, h, 0, 0) - L(0, -h, 0, 0)) / (2 * h), fd_a = (L(h, 0, 0, 0) - L(-h, 0, 0, 0)) / (2 * h);
  const double fd_y0 = (L(0, 0, h, 0) - L(0, 0, -h, 0)) / (2 * h), fd_y1 = (L(0, 0, 0, h) - L(0, 0, 0, -h)) / (2 * h);
  std::printf("[ dopri5 ] dL/db autograd %.9f finite-difference %.9f; dL/dy0 %.9f vs %.9f\n", gb, fd_b, gy0, fd_y0);
  EXPECT_NEAR(gb, fd_b, 1e-6 * std::max(1.0, std::abs(fd_b)));
  EXPECT_NEAR(ga, fd_a, 1e-6 * std::max(1.0, std::abs(fd_a)));
  EXPECT_NEAR(gy0, fd_y0, 1e-6);
  EXPECT_NEAR(gy1, fd_y1, 1e-6);
}

TEST(ModelsDopri5, ExhaustedStepBudgetFinishesWithFixedSteps) {
  Dopri5Options o;
  o.rtol = o.atol = 1e-12;
  o.max_steps = 5;   // far too few for this tolerance
  const Dopri5Result r = dopri5_solve([](double, const torch::Tensor& y) { return -y; }, torch::ones({1}, kD), {0.0, 1.0, 3.0}, o);
  EXPECT_EQ(r.accepted + r.rejected, 5);
  EXPECT_GT(r.forced_steps, 0);
  EXPECT_NEAR(r.states[2][0].item<double>(), std::exp(-3.0), 1e-3);   // 8 fifth-order steps are still accurate
}

TEST(ModelsDopri5, OutputTimesMustIncrease) {
  auto f = [](double, const torch::Tensor& y) { return -y; };
  EXPECT_THROW(dopri5_solve(f, torch::ones({1}, kD), {0.0, 0.5, 0.5}), std::invalid_argument);
  EXPECT_THROW(dopri5_solve(f, torch::ones({1}, kD), {}), std::invalid_argument);
  const Dopri5Result one = dopri5_solve(f, torch::ones({2}, kD), {0.3});
  EXPECT_EQ(one.states.sizes(), (std::vector<int64_t>{1, 2}));
}
