#include "topography/separatrices.hpp"

#include <algorithm>
#include <cmath>

#include "topography/fixed_point_types.hpp"

namespace velofield {

namespace {

bool inside(const Box2& box, const double* p) {
  return p[0] >= box.lo[0] && p[0] <= box.hi[0] && p[1] >= box.lo[1] && p[1] <= box.hi[1];
}

struct Branch {
  double p[2];
  double prev[2] = {0, 0};
  bool have_prev = false, active = true;
  double h = 0, length = 0;
  std::vector<double> points;
};

// In place: f → −f/|f| per row; a row where f vanishes or is not finite stops its branch.
void backward_directions(std::vector<double>& f, const std::vector<size_t>& who, std::vector<Branch>& branches) {
  for (size_t k = 0; k < who.size(); ++k) {
    const double n = std::hypot(f[2 * k], f[2 * k + 1]);
    if (!(n > 0) || !std::isfinite(n)) {
      branches[who[k]].active = false;
      f[2 * k] = f[2 * k + 1] = 0;
      continue;
    }
    f[2 * k] = -f[2 * k] / n;
    f[2 * k + 1] = -f[2 * k + 1] / n;
  }
}

}  // namespace

std::vector<std::vector<double>> separatrices(const FieldFunction& field, const std::vector<double>& saddles,
                                              const std::vector<double>& jacobians, const Box2& box,
                                              const SeparatrixOptions& o) {
  const size_t n = saddles.size() / 2;
  const double diag = std::hypot(box.hi[0] - box.lo[0], box.hi[1] - box.lo[1]);
  const double step = o.step > 0 ? o.step : diag / 500;
  const double max_length = o.max_length > 0 ? o.max_length : 2 * ((box.hi[0] - box.lo[0]) + (box.hi[1] - box.lo[1]));
  const double offset = o.offset > 0 ? o.offset : 1e-6 * diag;
  // Two branches per saddle with a real stable direction: saddle ± offset · e_stable.
  std::vector<Branch> branches;
  std::vector<size_t> owner;
  for (size_t s = 0; s < n; ++s) {
    const double* J = &jacobians[4 * s];
    double stable = 0;
    bool found = false;
    for (const auto& v : eigenvalues(2, J))
      if (v.imag() == 0 && v.real() < 0 && (!found || v.real() < stable)) {
        stable = v.real();
        found = true;
      }
    if (!found) continue;
    const std::vector<double> e = eigenvector_2d(J, stable);
    for (double sign : {1.0, -1.0}) {
      Branch b;
      b.p[0] = saddles[2 * s] + sign * offset * e[0];
      b.p[1] = saddles[2 * s + 1] + sign * offset * e[1];
      // Small steps first: near the saddle the curve's direction is the eigenvector; the step
      // doubles up to `step` as the branch leaves.
      b.h = step * 1e-4;
      branches.push_back(std::move(b));
      owner.push_back(s);
    }
  }
  std::vector<size_t> who;
  std::vector<double> x, k1, k2, k3, k4;
  for (;;) {
    who.clear();
    for (size_t b = 0; b < branches.size(); ++b)
      if (branches[b].active) who.push_back(b);
    if (who.empty()) break;
    const size_t m = who.size();
    x.resize(2 * m);
    for (size_t k = 0; k < m; ++k) {
      x[2 * k] = branches[who[k]].p[0];
      x[2 * k + 1] = branches[who[k]].p[1];
    }
    auto stage = [&](std::vector<double>& out, const std::vector<double>* from, double frac) {
      std::vector<double> q(2 * m);
      for (size_t k = 0; k < m; ++k)
        for (int c = 0; c < 2; ++c) q[2 * k + c] = x[2 * k + c] + (from ? frac * branches[who[k]].h * (*from)[2 * k + c] : 0.0);
      out.resize(2 * m);
      field.values(static_cast<int64_t>(m), q.data(), out.data());
      backward_directions(out, who, branches);
    };
    stage(k1, nullptr, 0);
    stage(k2, &k1, 0.5);
    stage(k3, &k2, 0.5);
    stage(k4, &k3, 1.0);
    for (size_t k = 0; k < m; ++k) {
      Branch& b = branches[who[k]];
      if (!b.active) continue;
      if (b.have_prev && k1[2 * k] * b.prev[0] + k1[2 * k + 1] * b.prev[1] < 0) {   // flow reversed: at a source of f
        b.active = false;
        continue;
      }
      const double dx = b.h * (k1[2 * k] + 2 * k2[2 * k] + 2 * k3[2 * k] + k4[2 * k]) / 6;
      const double dy = b.h * (k1[2 * k + 1] + 2 * k2[2 * k + 1] + 2 * k3[2 * k + 1] + k4[2 * k + 1]) / 6;
      // Within half a step of a source of f the RK stages point back and forth and cancel: the
      // branch has arrived.
      if (std::hypot(dx, dy) < 0.25 * b.h) {
        b.active = false;
        continue;
      }
      b.p[0] += dx;
      b.p[1] += dy;
      if (!inside(box, b.p)) {
        b.active = false;
        continue;
      }
      b.points.push_back(b.p[0]);
      b.points.push_back(b.p[1]);
      b.prev[0] = k1[2 * k];
      b.prev[1] = k1[2 * k + 1];
      b.have_prev = true;
      b.length += std::hypot(dx, dy);
      b.h = std::min(step, 2 * b.h);
      if (b.length >= max_length) b.active = false;
    }
  }
  // Per saddle: the first branch reversed, the saddle, the second branch.
  std::vector<std::vector<double>> out(n);
  for (size_t b = 0; b + 1 < branches.size(); b += 2) {
    const size_t s = owner[b];
    std::vector<double>& curve = out[s];
    const std::vector<double>& first = branches[b].points;
    for (size_t k = first.size() / 2; k-- > 0;) {
      curve.push_back(first[2 * k]);
      curve.push_back(first[2 * k + 1]);
    }
    curve.push_back(saddles[2 * s]);
    curve.push_back(saddles[2 * s + 1]);
    curve.insert(curve.end(), branches[b + 1].points.begin(), branches[b + 1].points.end());
  }
  return out;
}

}  // namespace velofield
