#pragma once
// Dormand–Prince 5(4) with adaptive steps for LibTorch tensors, following torchdiffeq's "dopri5":
// RMS error norm against atol + rtol·max(|y0|, |y1|), its initial-step heuristic, step factors
// bounded to [0.2, 10] with safety 0.9, FSAL, and 4th-order dense output at the requested times
// (steps are not clipped to them). The states are built from differentiable tensor ops, so
// backpropagating through the returned tensor differentiates the unrolled solver (LatentVelo needs
// that, no adjoint); the step-size decisions read detached values and so carry no gradient.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace velofield::models {

struct Dopri5Options {
  double rtol = 1e-5, atol = 1e-5;
  // Accepted plus rejected steps before the solver stops adapting: the rest of the interval is
  // then covered by 8 equal steps, accepted whatever their error (counted in forced_steps), instead
  // of torchdiffeq's assertion, which aborts a training run on one stiff batch.
  int64_t max_steps = 100;
  double min_step = 0;   // a step this small is accepted whatever its error (guard against "underflow in dt")
};

struct Dopri5Result {
  torch::Tensor states;   // [times.size(), y0's shape...]; states[0] is y0
  int64_t accepted = 0, rejected = 0, forced_steps = 0, evaluations = 0;
};

using OdeFunction = std::function<torch::Tensor(double t, const torch::Tensor& y)>;

// Solves dy/dt = f(t, y) from y(times[0]) = y0 and returns y at every entry of `times`, which must
// be strictly increasing (throws std::invalid_argument otherwise).
Dopri5Result dopri5_solve(const OdeFunction& f, const torch::Tensor& y0, const std::vector<double>& times,
                          const Dopri5Options& options = {});

}  // namespace velofield::models
