#include "simulate/counter_rng.hpp"

namespace velofield::sim {

double CounterRng::normal() {
  const double r = std::sqrt(-2.0 * std::log(uniform()));
  return r * std::cos(6.283185307179586476925 * uniform());
}

double CounterRng::gamma(double shape) {
  if (shape <= 0) return 0.0;
  if (shape < 1.0) {
    // Gamma(a) = Gamma(a + 1) · U^(1/a) (Marsaglia & Tsang 2000, section 6).
    const double g = gamma(shape + 1.0);
    return g * std::pow(uniform(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

int64_t CounterRng::poisson(double mean) {
  if (!(mean > 0)) return 0;
  if (mean < 10.0) {
    // Inversion by sequential search: expected 1 + mean steps, exact. Since e^-m >= 1 - m, a
    // uniform below 1 - m is a zero without evaluating the exponential (most draws in sparse data).
    const double u = uniform();
    if (u <= 1.0 - mean) return 0;
    double p = std::exp(-mean), cdf = p;
    int64_t k = 0;
    while (u > cdf) {
      ++k;
      p *= mean / static_cast<double>(k);
      cdf += p;
      if (p <= 0 && cdf < u) break;   // only reachable through rounding far in the tail
    }
    return k;
  }
  // PTRS: transformed rejection with squeeze, exact for mean >= 10 (Hörmann 1993).
  const double slam = std::sqrt(mean), loglam = std::log(mean);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    const double u = uniform() - 0.5, v = uniform();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) return static_cast<int64_t>(k);
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <= -mean + k * loglam - std::lgamma(k + 1.0))
      return static_cast<int64_t>(k);
  }
}

int64_t CounterRng::negative_binomial(double mean, double theta) {
  if (!(mean > 0)) return 0;
  return poisson(gamma(theta) * mean / theta);
}

}  // namespace velofield::sim
