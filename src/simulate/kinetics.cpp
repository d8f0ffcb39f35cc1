#include "simulate/kinetics.hpp"

#include <cmath>

namespace velofield::sim {

namespace {
// (1 − e^{−x})/x, with its limit 1 at x = 0; the series takes over where expm1/x loses digits.
double phi(double x) {
  if (std::fabs(x) < 1e-5) return 1.0 - x / 2.0 + x * x / 6.0;
  return -std::expm1(-x) / x;
}
}  // namespace

Abundance advance(const Abundance& start, double alpha, double beta, double gamma, double tau) {
  if (tau <= 0) return start;
  const double u_inf = alpha / beta, s_inf = alpha / gamma;
  const double b = start.u - u_inf;
  const double eb = std::exp(-beta * tau), eg = std::exp(-gamma * tau);
  Abundance out;
  out.u = u_inf + b * eb;
  // Far from β == γ the plain difference of the two exponentials loses nothing (they differ by a
  // factor e^0.5 or more) and saves the expm1; near it, the φ form avoids the cancellation.
  const double x = (gamma - beta) * tau;
  const double mixed = std::fabs(x) > 0.5 ? (eb - eg) / (gamma - beta) : eb * tau * phi(x);
  out.s = s_inf + (start.s - s_inf) * eg + beta * b * mixed;
  return out;
}

}  // namespace velofield::sim
