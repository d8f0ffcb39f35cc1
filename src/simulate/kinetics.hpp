#pragma once
// The two-state splicing kinetics du/dt = α − βu, ds/dt = βu − γs, solved in closed form for a
// constant α over an interval (the simulator's α is piecewise constant in time).
namespace velofield::sim {

struct Abundance {
  double u = 0, s = 0;
};

// State after time tau >= 0 from `start` with constant alpha. One formula covers β == γ: the
// term β(u0 − α/β)(e^{−βτ} − e^{−γτ})/(γ − β) is written as β(u0 − α/β) e^{−βτ} τ φ((γ − β)τ) with
// φ(x) = (1 − e^{−x})/x (φ(0) = 1), evaluated with expm1, so it is exact and stable as γ → β.
Abundance advance(const Abundance& start, double alpha, double beta, double gamma, double tau);

// ds/dt and du/dt at a state.
inline double spliced_velocity(const Abundance& a, double beta, double gamma) { return beta * a.u - gamma * a.s; }
inline double unspliced_velocity(const Abundance& a, double alpha, double beta) { return alpha - beta * a.u; }

}  // namespace velofield::sim
