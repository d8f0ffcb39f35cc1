#include "velocity/models/ode_dopri5.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace velofield::models {

namespace {

// The Dormand–Prince tableau; the error weights are torchdiffeq's (5th-order minus embedded 4th).
constexpr double kC[6] = {1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
constexpr double kA[6][6] = {
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
constexpr double kError[7] = {35.0 / 384 - 1951.0 / 21600, 0, 500.0 / 1113 - 22642.0 / 50085,
                              125.0 / 192 - 451.0 / 720,   -2187.0 / 6784 + 12231.0 / 42400,
                              11.0 / 84 - 649.0 / 6300,    -1.0 / 60};
// The midpoint of the step from the stages (torchdiffeq's DPS_C_MID), for the quartic dense output.
constexpr double kMid[7] = {6025192743.0 / 30085553152 / 2, 0, 51252292925.0 / 65400821598 / 2,
                            -2691868925.0 / 45128329728 / 2, 187940372067.0 / 1594534317056 / 2,
                            -1776094331.0 / 19743644256 / 2, 11237099.0 / 235043384 / 2};
constexpr double kSafety = 0.9, kIncrease = 10, kDecrease = 0.2, kOrder = 5;

double rms(const torch::Tensor& x) { return std::sqrt(x.detach().to(torch::kDouble).pow(2).mean().item<double>()); }

// torchdiffeq's _select_initial_step (Hairer, Nørsett & Wanner II.4).
double initial_step(const OdeFunction& f, double t0, const torch::Tensor& y0, const torch::Tensor& f0,
                    const Dopri5Options& o, int64_t& evaluations) {
  torch::NoGradGuard no_grad;
  const torch::Tensor y = y0.detach(), dy = f0.detach();
  const torch::Tensor scale = o.atol + y.abs() * o.rtol;
  const double d0 = rms(y / scale), d1 = rms(dy / scale);
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const torch::Tensor f1 = f(t0 + h0, y + h0 * dy);
  ++evaluations;
  const double d2 = rms((f1 - dy) / scale) / h0;
  const double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0 * 1e-3)
                                                 : std::pow(0.01 / std::max(d1, d2), 1.0 / (kOrder + 1));
  return std::min(100 * h0, h1);
}

struct Step {
  double t0 = 0, t1 = 0;
  torch::Tensor y0, y1, f0, f1;
  std::vector<torch::Tensor> k;   // the seven stages
};

torch::Tensor interpolate(const Step& s, double t) {
  const double dt = s.t1 - s.t0;
  torch::Tensor y_mid = s.y0;
  for (int i = 0; i < 7; ++i)
    if (kMid[i] != 0) y_mid = y_mid + (dt * kMid[i]) * s.k[static_cast<size_t>(i)];
  // torchdiffeq's _interp_fit: the quartic through y0, y_mid, y1 with slopes f0, f1.
  const torch::Tensor a = 2 * dt * (s.f1 - s.f0) - 8 * (s.y1 + s.y0) + 16 * y_mid;
  const torch::Tensor b = dt * (5 * s.f0 - 3 * s.f1) + 18 * s.y0 + 14 * s.y1 - 32 * y_mid;
  const torch::Tensor c = dt * (s.f1 - 4 * s.f0) - 11 * s.y0 - 5 * s.y1 + 16 * y_mid;
  const torch::Tensor d = dt * s.f0;
  const double x = (t - s.t0) / dt;
  return s.y0 + x * (d + x * (c + x * (b + x * a)));
}

}  // namespace

Dopri5Result dopri5_solve(const OdeFunction& f, const torch::Tensor& y0, const std::vector<double>& times,
                          const Dopri5Options& o) {
  if (times.empty()) throw std::invalid_argument("dopri5: no output times");
  for (size_t i = 1; i < times.size(); ++i)
    if (!(times[i] > times[i - 1])) throw std::invalid_argument("dopri5: output times must be strictly increasing");
  Dopri5Result r;
  std::vector<torch::Tensor> out{y0};
  if (times.size() == 1) {
    r.states = torch::stack(out);
    return r;
  }
  // The current point (t, y, f(t, y)) and the last accepted step, which the outputs interpolate.
  double t = times.front();
  torch::Tensor y = y0, fy = f(t, y0);
  ++r.evaluations;
  double dt = initial_step(f, t, y0, fy, o, r.evaluations);
  const double t_end = times.back();
  Step s;
  bool have_step = false;
  double forced_dt = 0;
  size_t next = 1;
  while (true) {
    while (have_step && next < times.size() && times[next] <= s.t1) out.push_back(interpolate(s, times[next++]));
    if (next == times.size()) break;
    const bool forced = r.accepted + r.rejected >= o.max_steps;
    if (forced) {
      if (forced_dt == 0) forced_dt = (t_end - t) / 8;
      dt = forced_dt;
    }
    std::vector<torch::Tensor> k{fy};
    torch::Tensor y1;
    for (int i = 0; i < 6; ++i) {
      torch::Tensor yi = y;
      for (int j = 0; j <= i; ++j)
        if (kA[i][j] != 0) yi = yi + (dt * kA[i][j]) * k[static_cast<size_t>(j)];
      if (i == 5) y1 = yi;   // the 5th-order solution is the last stage's argument (FSAL)
      k.push_back(f(t + kC[i] * dt, yi));
      ++r.evaluations;
    }
    double ratio = 0;
    {
      torch::NoGradGuard no_grad;
      torch::Tensor err = torch::zeros_like(y.detach());
      for (int i = 0; i < 7; ++i)
        if (kError[i] != 0) err = err + (dt * kError[i]) * k[static_cast<size_t>(i)].detach();
      const torch::Tensor tol = o.atol + o.rtol * torch::max(y.detach().abs(), y1.detach().abs());
      ratio = rms(err / tol);
    }
    const bool accept = forced || ratio <= 1 || dt <= o.min_step;
    if (forced) ++r.forced_steps; else if (accept) ++r.accepted; else ++r.rejected;
    if (accept) {
      s = Step{t, t + dt, y, y1, fy, k[6], k};
      t = s.t1;
      y = y1;
      fy = k[6];
      have_step = true;
    }
    if (!forced) {
      const double factor = ratio == 0 ? kIncrease
                                       : std::min(kIncrease, std::max(kSafety / std::pow(ratio, 1.0 / kOrder),
                                                                      ratio < 1 ? 1.0 : kDecrease));
      dt = std::max(dt * factor, o.min_step);
    }
  }
  r.states = torch::stack(out);
  return r;
}

}  // namespace velofield::models
