#pragma once
// Roots of f(x) = 0 from many starts at once: Levenberg–Marquardt on ½|f|² with the analytic
// Jacobian, which is Newton's method (quadratic convergence) near a regular root and a damped
// gradient step far from one, where plain Newton jumps out of the domain. All starts advance
// together, so each iteration is two batched field evaluations (values at the trial points,
// Jacobians where a step was accepted), not one per start. dynamo uses MINPACK's hybrd with a
// finite-difference Broyden Jacobian from 25 starts (spec 6.2); the analytic Jacobian converges to
// machine precision and classifies with the exact Jacobian.
#include <cstdint>
#include <vector>

#include "topography/field_function.hpp"

namespace velofield {

struct RootSolveOptions {
  int max_iterations = 200;
  // A start has converged when |f| <= f_tol or its step is below x_tol (absolute; the caller
  // scales both to the field and the domain).
  double f_tol = 0;
  double x_tol = 0;
  // No single step longer than this (absolute): a start far from any root walks instead of jumping.
  double max_step = 0;
};

struct RootCandidate {
  std::vector<double> x;   // dim
  double residual = 0;     // |f(x)| at the end
  int iterations = 0;
};

// One candidate per start (starts: n × dim, row-major), in start order. Deterministic per start:
// a start's result does not depend on which other starts share its batch.
std::vector<RootCandidate> solve_roots(const FieldFunction& field, int64_t n, const double* starts,
                                       const RootSolveOptions& options);

// Solves the dim × dim system A z = b in place (b becomes z) by Gaussian elimination with partial
// pivoting; false when A is singular to working precision. A is row-major and is overwritten.
bool solve_dense(int64_t dim, double* a, double* b);

}  // namespace velofield
