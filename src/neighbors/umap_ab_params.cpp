#include "neighbors/umap_ab_params.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace velofield {

namespace {

// Sum of squared residuals, and (when asked) the normal equations JᵀJ and Jᵀr.
double residuals(const std::vector<double>& x, const std::vector<double>& y, double a, double b, double jtj[3], double jtr[2]) {
  double ssr = 0;
  if (jtj) jtj[0] = jtj[1] = jtj[2] = jtr[0] = jtr[1] = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double x2b = x[i] > 0 ? std::pow(x[i], 2 * b) : 0.0;
    const double f = 1.0 / (1.0 + a * x2b);
    const double r = f - y[i];
    ssr += r * r;
    if (!jtj) continue;
    const double df = -f * f;   // d f / d(a x^2b)
    const double ja = df * x2b;
    const double jb = x[i] > 0 ? df * a * x2b * 2.0 * std::log(x[i]) : 0.0;
    jtj[0] += ja * ja;
    jtj[1] += ja * jb;
    jtj[2] += jb * jb;
    jtr[0] += ja * r;
    jtr[1] += jb * r;
  }
  return ssr;
}

}  // namespace

UmapCurve fit_umap_curve(double spread, double min_dist) {
  if (!(spread > 0) || !(min_dist >= 0))
    throw Error("umap: spread must be positive and min_dist non-negative (found spread " + std::to_string(spread) + ", min_dist " +
                std::to_string(min_dist) + ")");
  std::vector<double> x(300), y(300);
  for (int i = 0; i < 300; ++i) {
    x[static_cast<size_t>(i)] = 3.0 * spread * i / 299.0;
    y[static_cast<size_t>(i)] = x[static_cast<size_t>(i)] < min_dist ? 1.0 : std::exp(-(x[static_cast<size_t>(i)] - min_dist) / spread);
  }
  double a = 1, b = 1, lambda = 1e-3;
  double jtj[3], jtr[2];
  double ssr = residuals(x, y, a, b, jtj, jtr);
  for (int it = 0; it < 500; ++it) {
    // (JᵀJ + λ diag(JᵀJ)) δ = -Jᵀr, as MINPACK's scaling does.
    const double m00 = jtj[0] * (1 + lambda), m11 = jtj[2] * (1 + lambda), m01 = jtj[1];
    const double det = m00 * m11 - m01 * m01;
    if (!(std::fabs(det) > 0)) break;
    const double da = -(m11 * jtr[0] - m01 * jtr[1]) / det;
    const double db = -(m00 * jtr[1] - m01 * jtr[0]) / det;
    const double trial = residuals(x, y, a + da, b + db, nullptr, nullptr);
    if (std::isfinite(trial) && trial < ssr) {
      const bool converged = ssr - trial <= 1e-15 * ssr && std::fabs(da) <= 1e-12 * (1 + std::fabs(a)) &&
                             std::fabs(db) <= 1e-12 * (1 + std::fabs(b));
      a += da;
      b += db;
      ssr = residuals(x, y, a, b, jtj, jtr);
      lambda = std::max(lambda / 10, 1e-12);
      if (converged) break;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  if (!std::isfinite(a) || !std::isfinite(b) || a <= 0 || b <= 0)
    throw Error("umap: could not fit the embedding curve for spread " + std::to_string(spread) + ", min_dist " + std::to_string(min_dist));
  return {a, b};
}

}  // namespace velofield
