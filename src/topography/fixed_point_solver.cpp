#include "topography/fixed_point_solver.hpp"

#include <algorithm>
#include <cmath>

namespace velofield {

bool solve_dense(int64_t dim, double* a, double* b) {
  double scale = 0;
  for (int64_t e = 0; e < dim * dim; ++e) scale = std::max(scale, std::abs(a[e]));
  if (!(scale > 0)) return false;
  for (int64_t c = 0; c < dim; ++c) {
    int64_t pivot = c;
    for (int64_t r = c + 1; r < dim; ++r)
      if (std::abs(a[r * dim + c]) > std::abs(a[pivot * dim + c])) pivot = r;
    if (!(std::abs(a[pivot * dim + c]) > 1e-300 + 1e-15 * scale)) return false;
    if (pivot != c) {
      for (int64_t q = 0; q < dim; ++q) std::swap(a[c * dim + q], a[pivot * dim + q]);
      std::swap(b[c], b[pivot]);
    }
    for (int64_t r = c + 1; r < dim; ++r) {
      const double factor = a[r * dim + c] / a[c * dim + c];
      if (factor == 0) continue;
      for (int64_t q = c; q < dim; ++q) a[r * dim + q] -= factor * a[c * dim + q];
      b[r] -= factor * b[c];
    }
  }
  for (int64_t c = dim - 1; c >= 0; --c) {
    double s = b[c];
    for (int64_t q = c + 1; q < dim; ++q) s -= a[c * dim + q] * b[q];
    b[c] = s / a[c * dim + c];
  }
  return true;
}

namespace {

double norm(const double* v, int64_t dim) {
  double s = 0;
  for (int64_t q = 0; q < dim; ++q) s += v[q] * v[q];
  return std::sqrt(s);
}

struct StartState {
  double lambda = 1e-3;   // Marquardt damping, relative to diag(JᵀJ)
  bool active = true;
  int iterations = 0;
};

// The LM step: (JᵀJ + λ diag(JᵀJ)) δ = −Jᵀf. With λ → 0 it is the Newton step J δ = −f, which is
// then solved directly (JᵀJ squares the condition number and would cap the accuracy of the root).
bool lm_step(int64_t D, const double* J, const double* f, double lambda, double* step, std::vector<double>& a) {
  a.assign(static_cast<size_t>(D * D), 0.0);
  if (lambda < 1e-10) {
    std::copy(J, J + D * D, a.begin());
    for (int64_t p = 0; p < D; ++p) step[p] = -f[p];
    if (solve_dense(D, a.data(), step)) return true;
    a.assign(static_cast<size_t>(D * D), 0.0);
    lambda = 1e-10;
  }
  for (int64_t p = 0; p < D; ++p)
    for (int64_t q = 0; q < D; ++q) {
      double s = 0;
      for (int64_t r = 0; r < D; ++r) s += J[r * D + p] * J[r * D + q];
      a[static_cast<size_t>(p * D + q)] = s;
    }
  for (int64_t p = 0; p < D; ++p) {
    double s = 0;
    for (int64_t r = 0; r < D; ++r) s += J[r * D + p] * f[r];
    step[p] = -s;
    a[static_cast<size_t>(p * D + p)] *= 1 + lambda;
    if (a[static_cast<size_t>(p * D + p)] == 0) a[static_cast<size_t>(p * D + p)] = lambda;
  }
  return solve_dense(D, a.data(), step);
}

}  // namespace

std::vector<RootCandidate> solve_roots(const FieldFunction& field, int64_t n, const double* starts,
                                       const RootSolveOptions& o) {
  const int64_t D = field.dim();
  std::vector<double> x(starts, starts + n * D), f(static_cast<size_t>(n * D)), J(static_cast<size_t>(n * D * D));
  std::vector<double> fn(static_cast<size_t>(n));
  std::vector<StartState> state(static_cast<size_t>(n));
  field.values(n, x.data(), f.data());
  field.jacobians(n, x.data(), J.data());
  for (int64_t i = 0; i < n; ++i) {
    fn[static_cast<size_t>(i)] = norm(f.data() + i * D, D);
    if (!std::isfinite(fn[static_cast<size_t>(i)]) || fn[static_cast<size_t>(i)] <= o.f_tol) state[static_cast<size_t>(i)].active = false;
  }
  std::vector<int64_t> active, accepted;
  std::vector<double> trial, trial_f, step(static_cast<size_t>(D)), a, acc_x, acc_J;
  for (int it = 0; it < o.max_iterations; ++it) {
    active.clear();
    for (int64_t i = 0; i < n; ++i)
      if (state[static_cast<size_t>(i)].active) active.push_back(i);
    if (active.empty()) break;
    const int64_t na = static_cast<int64_t>(active.size());
    trial.resize(static_cast<size_t>(na * D));
    trial_f.resize(static_cast<size_t>(na * D));
    std::vector<double> step_len(static_cast<size_t>(na), 0.0);
    for (int64_t k = 0; k < na; ++k) {
      const int64_t i = active[static_cast<size_t>(k)];
      StartState& s = state[static_cast<size_t>(i)];
      if (!lm_step(D, J.data() + i * D * D, f.data() + i * D, s.lambda, step.data(), a)) {
        for (int64_t p = 0; p < D; ++p) step[static_cast<size_t>(p)] = 0;
      }
      double len = norm(step.data(), D);
      if (!std::isfinite(len)) {
        len = 0;
        std::fill(step.begin(), step.end(), 0.0);
      }
      if (o.max_step > 0 && len > o.max_step) {
        for (int64_t p = 0; p < D; ++p) step[static_cast<size_t>(p)] *= o.max_step / len;
        len = o.max_step;
      }
      step_len[static_cast<size_t>(k)] = len;
      for (int64_t p = 0; p < D; ++p) trial[static_cast<size_t>(k * D + p)] = x[static_cast<size_t>(i * D + p)] + step[static_cast<size_t>(p)];
    }
    field.values(na, trial.data(), trial_f.data());
    accepted.clear();
    for (int64_t k = 0; k < na; ++k) {
      const int64_t i = active[static_cast<size_t>(k)];
      StartState& s = state[static_cast<size_t>(i)];
      ++s.iterations;
      const double tn = norm(trial_f.data() + k * D, D);
      if (std::isfinite(tn) && tn < fn[static_cast<size_t>(i)]) {
        std::copy(trial.begin() + k * D, trial.begin() + (k + 1) * D, x.begin() + i * D);
        std::copy(trial_f.begin() + k * D, trial_f.begin() + (k + 1) * D, f.begin() + i * D);
        fn[static_cast<size_t>(i)] = tn;
        s.lambda = std::max(s.lambda / 10, 1e-12);
        accepted.push_back(i);
        if (tn <= o.f_tol || step_len[static_cast<size_t>(k)] <= o.x_tol) s.active = false;
      } else {
        // No decrease: at a root to working precision (a zero-length step), or damp and retry.
        if (step_len[static_cast<size_t>(k)] <= o.x_tol) s.active = false;
        s.lambda = s.lambda < 1e-6 ? 1e-3 : s.lambda * 10;
        if (s.lambda > 1e12) s.active = false;
      }
    }
    if (!accepted.empty()) {
      const int64_t nacc = static_cast<int64_t>(accepted.size());
      acc_x.resize(static_cast<size_t>(nacc * D));
      acc_J.resize(static_cast<size_t>(nacc * D * D));
      for (int64_t k = 0; k < nacc; ++k)
        std::copy(x.begin() + accepted[static_cast<size_t>(k)] * D, x.begin() + (accepted[static_cast<size_t>(k)] + 1) * D, acc_x.begin() + k * D);
      field.jacobians(nacc, acc_x.data(), acc_J.data());
      for (int64_t k = 0; k < nacc; ++k)
        std::copy(acc_J.begin() + k * D * D, acc_J.begin() + (k + 1) * D * D, J.begin() + accepted[static_cast<size_t>(k)] * D * D);
    }
  }
  std::vector<RootCandidate> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)].x.assign(x.begin() + i * D, x.begin() + (i + 1) * D);
    out[static_cast<size_t>(i)].residual = fn[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)].iterations = state[static_cast<size_t>(i)].iterations;
  }
  return out;
}

}  // namespace velofield
