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
  out.s = s_inf + (start.s - s_inf) * eg + beta * b * eb * tau * phi((gamma - beta) * tau);
  return out;
}

}  // namespace velofield::sim
