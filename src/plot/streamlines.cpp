#include "plot/streamlines.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace velofield::plot {

namespace {

struct Sample {
  double X, Y;     // display coordinates
  int64_t line;
  double s;        // signed arc length from the line's seed
};

// Samples of all accepted lines (and of the line being traced), bucketed in square cells of side
// d_sep, so that "is any sample within r ≤ d_sep" looks at 3 × 3 buckets.
class Occupancy {
 public:
  Occupancy(double width, double height, double cell)
      : cell_(cell), nx_(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(width / cell)))),
        ny_(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(height / cell)))), buckets_(static_cast<size_t>(nx_ * ny_)) {}

  void add(const Sample& p) {
    buckets_[bucket(p.X, p.Y)].push_back(static_cast<int64_t>(samples_.size()));
    samples_.push_back(p);
  }
  // Removes the most recent samples back to `count` (a line that was traced and then dropped: its
  // samples are the newest of every bucket they went to).
  void truncate(size_t count) {
    while (samples_.size() > count) {
      const Sample& p = samples_.back();
      buckets_[bucket(p.X, p.Y)].pop_back();
      samples_.pop_back();
    }
  }
  size_t size() const { return samples_.size(); }

  // Is a sample within r of (X, Y), other than the line `self`'s samples within arc distance
  // `self_gap` of arc position s (its own recent path)?
  bool near(double X, double Y, double r, int64_t self, double s, double self_gap) const {
    const int64_t bx = clampi(static_cast<int64_t>(std::floor(X / cell_)), nx_), by = clampi(static_cast<int64_t>(std::floor(Y / cell_)), ny_);
    const int64_t reach = static_cast<int64_t>(std::ceil(r / cell_));
    for (int64_t j = std::max<int64_t>(0, by - reach); j <= std::min(ny_ - 1, by + reach); ++j)
      for (int64_t i = std::max<int64_t>(0, bx - reach); i <= std::min(nx_ - 1, bx + reach); ++i)
        for (int64_t k : buckets_[static_cast<size_t>(j * nx_ + i)]) {
          const Sample& q = samples_[static_cast<size_t>(k)];
          if (q.line == self && std::fabs(q.s - s) < self_gap) continue;
          const double dx = q.X - X, dy = q.Y - Y;
          if (dx * dx + dy * dy < r * r) return true;
        }
    return false;
  }

 private:
  static int64_t clampi(int64_t v, int64_t n) { return std::clamp<int64_t>(v, 0, n - 1); }
  size_t bucket(double X, double Y) const {
    return static_cast<size_t>(clampi(static_cast<int64_t>(std::floor(Y / cell_)), ny_) * nx_ +
                               clampi(static_cast<int64_t>(std::floor(X / cell_)), nx_));
  }
  double cell_;
  int64_t nx_, ny_;
  std::vector<std::vector<int64_t>> buckets_;
  std::vector<Sample> samples_;
};

// The field at display point (X, Y): the unit direction on the figure and the speed in data units;
// false outside the grid, in a cell with a closed corner, or where the flow is too slow to follow.
class FieldSampler {
 public:
  FieldSampler(const GridField& f, double sx, double sy, double min_speed)
      : f_(f), sx_(sx), sy_(sy), dx_((f.x1 - f.x0) / static_cast<double>(f.nx - 1)), dy_((f.y1 - f.y0) / static_cast<double>(f.ny - 1)),
        min_speed_(min_speed) {}

  double width() const { return (f_.x1 - f_.x0) * sx_; }
  double height() const { return (f_.y1 - f_.y0) * sy_; }

  bool at(double X, double Y, double& ux, double& uy, double& speed) const {
    const double gx = X / (sx_ * dx_), gy = Y / (sy_ * dy_);
    if (!(gx >= 0 && gy >= 0 && gx <= static_cast<double>(f_.nx - 1) && gy <= static_cast<double>(f_.ny - 1))) return false;
    const int64_t i = std::min<int64_t>(f_.nx - 2, static_cast<int64_t>(gx)), j = std::min<int64_t>(f_.ny - 2, static_cast<int64_t>(gy));
    const double tx = gx - static_cast<double>(i), ty = gy - static_cast<double>(j);
    const size_t a = static_cast<size_t>(j * f_.nx + i), b = a + 1, c = a + static_cast<size_t>(f_.nx), d = c + 1;
    const double u = (1 - ty) * ((1 - tx) * f_.u[a] + tx * f_.u[b]) + ty * ((1 - tx) * f_.u[c] + tx * f_.u[d]);
    const double v = (1 - ty) * ((1 - tx) * f_.v[a] + tx * f_.v[b]) + ty * ((1 - tx) * f_.v[c] + tx * f_.v[d]);
    if (!std::isfinite(u) || !std::isfinite(v)) return false;   // a closed corner: NaN propagates
    speed = std::hypot(u, v);
    if (!(speed > min_speed_)) return false;
    const double du = u * sx_, dv = v * sy_, norm = std::hypot(du, dv);
    if (!(norm > 0)) return false;
    ux = du / norm;
    uy = dv / norm;
    return true;
  }

 private:
  const GridField& f_;
  double sx_, sy_, dx_, dy_, min_speed_;
};

}  // namespace

double max_grid_speed(const GridField& f) {
  double m = 0;
  for (size_t k = 0; k < f.u.size() && k < f.v.size(); ++k)
    if (std::isfinite(f.u[k]) && std::isfinite(f.v[k])) m = std::max(m, std::hypot(f.u[k], f.v[k]));
  return m;
}

std::vector<Streamline> evenly_spaced_streamlines(const GridField& f, double sx, double sy, const StreamlineOptions& o) {
  std::vector<Streamline> out;
  if (f.nx < 2 || f.ny < 2 || !(f.x1 > f.x0) || !(f.y1 > f.y0) || !(sx > 0) || !(sy > 0) || !(o.separation > 0)) return out;
  const double vmax = max_grid_speed(f);
  if (!(vmax > 0)) return out;
  const FieldSampler field(f, sx, sy, o.min_speed * vmax);
  const double W = field.width(), H = field.height();
  const double d_sep = o.separation, d_test = o.test_ratio * o.separation, h = o.step_ratio * o.separation;
  const double self_gap = 2 * d_sep;            // a line may run beside its own recent path ...
  const double max_length = 4 * (W + H);        // ... and a closed orbit ends when it meets itself
  const int64_t max_steps = static_cast<int64_t>(max_length / h) + 1;
  Occupancy occupied(W, H, d_sep);

  auto direction = [&](double X, double Y, double sign, double& ux, double& uy, double& speed) {
    if (!field.at(X, Y, ux, uy, speed)) return false;
    ux *= sign;
    uy *= sign;
    return true;
  };
  // One step of length h from (X, Y); false where the step leaves the usable field.
  auto step = [&](double& X, double& Y, double sign, double& speed) {
    double k1x, k1y, k2x, k2y, sp;
    if (!direction(X, Y, sign, k1x, k1y, sp)) return false;
    if (o.integrator == Integrator::rk2) {
      if (!direction(X + 0.5 * h * k1x, Y + 0.5 * h * k1y, sign, k2x, k2y, sp)) return false;
      X += h * k2x;
      Y += h * k2y;
    } else {
      double k3x, k3y, k4x, k4y;
      if (!direction(X + 0.5 * h * k1x, Y + 0.5 * h * k1y, sign, k2x, k2y, sp)) return false;
      if (!direction(X + 0.5 * h * k2x, Y + 0.5 * h * k2y, sign, k3x, k3y, sp)) return false;
      if (!direction(X + h * k3x, Y + h * k3y, sign, k4x, k4y, sp)) return false;
      X += h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x);
      Y += h / 6 * (k1y + 2 * k2y + 2 * k3y + k4y);
    }
    double ux, uy;
    return field.at(X, Y, ux, uy, speed);
  };

  struct Traced {
    std::vector<double> X, Y, speed;
  };
  std::vector<Traced> lines;   // display coordinates, accepted lines
  // A seed must be d_sep from every line (slightly less, so that seeds placed exactly d_sep beside a
  // line along its normal are not lost to rounding).
  auto seed_ok = [&](double X, double Y) {
    double ux, uy, sp;
    return X >= 0 && Y >= 0 && X <= W && Y <= H && field.at(X, Y, ux, uy, sp) && !occupied.near(X, Y, 0.999 * d_sep, -1, 0, 0);
  };
  auto trace = [&](double SX, double SY) {
    const int64_t id = static_cast<int64_t>(lines.size());
    const size_t mark = occupied.size();
    double ux, uy, sp0;
    field.at(SX, SY, ux, uy, sp0);
    occupied.add({SX, SY, id, 0});
    Traced half[2];
    for (int k = 0; k < 2; ++k) {
      const double sign = k == 0 ? 1.0 : -1.0;
      double X = SX, Y = SY, sp = 0;
      for (int64_t n = 1; n <= max_steps; ++n) {
        if (!step(X, Y, sign, sp)) break;
        const double s = sign * static_cast<double>(n) * h;
        if (occupied.near(X, Y, d_test, id, s, self_gap)) break;
        occupied.add({X, Y, id, s});
        half[k].X.push_back(X);
        half[k].Y.push_back(Y);
        half[k].speed.push_back(sp);
      }
    }
    const double length = static_cast<double>(half[0].X.size() + half[1].X.size()) * h;
    if (length < o.min_length_ratio * d_sep) {
      occupied.truncate(mark);
      return false;
    }
    Traced t;
    for (size_t n = half[1].X.size(); n-- > 0;) {
      t.X.push_back(half[1].X[n]);
      t.Y.push_back(half[1].Y[n]);
      t.speed.push_back(half[1].speed[n]);
    }
    t.X.push_back(SX);
    t.Y.push_back(SY);
    t.speed.push_back(sp0);
    t.X.insert(t.X.end(), half[0].X.begin(), half[0].X.end());
    t.Y.insert(t.Y.end(), half[0].Y.begin(), half[0].Y.end());
    t.speed.insert(t.speed.end(), half[0].speed.begin(), half[0].speed.end());
    lines.push_back(std::move(t));
    return true;
  };

  // Lattice seeds, fastest flow first: the main currents get the long lines.
  struct Candidate {
    double X, Y, speed;
  };
  std::vector<Candidate> lattice;
  for (double Y = 0.5 * d_sep; Y < H; Y += d_sep)
    for (double X = 0.5 * d_sep; X < W; X += d_sep) {
      double ux, uy, sp;
      if (field.at(X, Y, ux, uy, sp)) lattice.push_back({X, Y, sp});
    }
  std::stable_sort(lattice.begin(), lattice.end(), [](const Candidate& a, const Candidate& b) { return a.speed > b.speed; });

  size_t next_line = 0;   // lines whose neighbours are still to be seeded (a FIFO over `lines`)
  // Seeds beside a line every half separation along it, at ±d_sep on its normal.
  const size_t stride = std::max<size_t>(1, static_cast<size_t>(std::lround(0.5 * d_sep / h)));
  for (const Candidate& c : lattice) {
    if (static_cast<int64_t>(lines.size()) >= o.max_lines) break;
    if (!seed_ok(c.X, c.Y) || !trace(c.X, c.Y)) continue;
    while (next_line < lines.size() && static_cast<int64_t>(lines.size()) < o.max_lines) {
      const size_t li = next_line++;
      for (size_t n = 0; n < lines[li].X.size(); n += stride) {
        const Traced& L = lines[li];   // re-read: trace() may grow `lines`
        const size_t a = n > 0 ? n - 1 : n, b = std::min(L.X.size() - 1, n + 1);
        const double tx = L.X[b] - L.X[a], ty = L.Y[b] - L.Y[a], tn = std::hypot(tx, ty);
        if (!(tn > 0)) continue;
        const double px = L.X[n], py = L.Y[n];
        for (const double side : {1.0, -1.0}) {
          const double QX = px - side * ty / tn * d_sep, QY = py + side * tx / tn * d_sep;
          if (seed_ok(QX, QY)) trace(QX, QY);
        }
      }
    }
  }

  out.reserve(lines.size());
  for (const Traced& t : lines) {
    Streamline s;
    for (size_t n = 0; n < t.X.size(); ++n) {
      s.x.push_back(f.x0 + t.X[n] / sx);
      s.y.push_back(f.y0 + t.Y[n] / sy);
    }
    s.speed = t.speed;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace velofield::plot
