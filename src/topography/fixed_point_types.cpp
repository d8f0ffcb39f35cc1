#include "topography/fixed_point_types.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

extern "C" void dgeev_(const char* jobvl, const char* jobvr, const int* n, double* a, const int* lda, double* wr,
                       double* wi, double* vl, const int* ldvl, double* vr, const int* ldvr, double* work,
                       const int* lwork, int* info, size_t jobvl_len, size_t jobvr_len);

namespace velofield {

const char* fixed_point_kind_name(FixedPointKind kind) {
  switch (kind) {
    case FixedPointKind::stable_node: return "stable node";
    case FixedPointKind::stable_spiral: return "stable spiral";
    case FixedPointKind::saddle: return "saddle";
    case FixedPointKind::unstable_node: return "unstable node";
    case FixedPointKind::unstable_spiral: return "unstable spiral";
    case FixedPointKind::centre: return "centre";
  }
  return "saddle";
}

std::vector<std::complex<double>> eigenvalues(int64_t dim, const double* j) {
  if (dim == 1) return {{j[0], 0.0}};
  if (dim == 2) {
    const double tr = j[0] + j[3], det = j[0] * j[3] - j[1] * j[2];
    const double disc = 0.25 * tr * tr - det;
    if (disc >= 0) {
      // The larger-magnitude root first, the other from the product: no cancellation.
      const double s = std::sqrt(disc);
      const double big = 0.5 * tr + (tr >= 0 ? s : -s);
      const double small = big != 0 ? det / big : 0.5 * tr - (tr >= 0 ? s : -s);
      return {{big, 0.0}, {small, 0.0}};
    }
    const double s = std::sqrt(-disc);
    return {{0.5 * tr, s}, {0.5 * tr, -s}};
  }
  // dgeev is column-major: it sees jᵀ, which has the same eigenvalues.
  const int n = static_cast<int>(dim);
  std::vector<double> a(j, j + dim * dim), wr(static_cast<size_t>(dim)), wi(static_cast<size_t>(dim));
  int lwork = -1, info = 0, one = 1;
  double query = 0, dummy = 0;
  dgeev_("N", "N", &n, a.data(), &n, wr.data(), wi.data(), &dummy, &one, &dummy, &one, &query, &lwork, &info, 1, 1);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(static_cast<size_t>(lwork));
  dgeev_("N", "N", &n, a.data(), &n, wr.data(), wi.data(), &dummy, &one, &dummy, &one, work.data(), &lwork, &info, 1, 1);
  if (info != 0) throw Error("topography: the eigenvalue solver (dgeev) failed with info " + std::to_string(info));
  std::vector<std::complex<double>> out;
  for (int64_t k = 0; k < dim; ++k) out.emplace_back(wr[static_cast<size_t>(k)], wi[static_cast<size_t>(k)]);
  return out;
}

int fixed_point_type(const std::vector<std::complex<double>>& w) {
  const bool all_negative = std::all_of(w.begin(), w.end(), [](const auto& v) { return v.real() < 0; });
  if (all_negative) return -1;
  const bool some_negative = std::any_of(w.begin(), w.end(), [](const auto& v) { return v.real() < 0; });
  return some_negative ? 0 : 1;
}

FixedPointKind fixed_point_kind(const std::vector<std::complex<double>>& w) {
  double scale = 0;
  bool complex = false;
  for (const auto& v : w) {
    scale = std::max(scale, std::abs(v));
    complex = complex || v.imag() != 0;
  }
  const double zero = 1e-10 * scale;
  const bool centre = complex && std::all_of(w.begin(), w.end(), [&](const auto& v) { return std::abs(v.real()) <= zero; });
  if (centre) return FixedPointKind::centre;
  switch (fixed_point_type(w)) {
    case -1: return complex ? FixedPointKind::stable_spiral : FixedPointKind::stable_node;
    case 0: return FixedPointKind::saddle;
    default: return complex ? FixedPointKind::unstable_spiral : FixedPointKind::unstable_node;
  }
}

std::vector<double> eigenvector_2d(const double* j, double lambda) {
  // (J − λI) v = 0: v is orthogonal to either row of J − λI; take the row with more weight.
  const double a = j[0] - lambda, b = j[1], c = j[2], d = j[3] - lambda;
  double vx = -b, vy = a;
  if (c * c + d * d > a * a + b * b) {
    vx = -d;
    vy = c;
  }
  const double n = std::hypot(vx, vy);
  if (!(n > 0)) return {1.0, 0.0};   // J = λI: every direction is an eigenvector
  return {vx / n, vy / n};
}

}  // namespace velofield
