#include "topography/nullclines.hpp"

#include <cmath>

#include "core/error.hpp"

namespace velofield {

namespace {

struct Segment {
  int64_t a, b;   // edge ids of its end points
};

// Marching squares for one component: the segments of each cell, and the crossing point of every
// edge whose end values differ in sign ("positive" is > 0, so exact zeros sit on one side).
struct Contour {
  std::vector<Segment> segments;
  std::vector<int64_t> cell_of_segment;
  std::vector<double> edge_point;   // edges × 2; NaN where the edge is not crossed
};

class Grid {
 public:
  Grid(const Box2& box, int64_t n) : n_(n), box_(box) {
    h_[0] = (box.hi[0] - box.lo[0]) / static_cast<double>(n - 1);
    h_[1] = (box.hi[1] - box.lo[1]) / static_cast<double>(n - 1);
  }
  int64_t n() const { return n_; }
  double x(int64_t q) const { return box_.lo[0] + static_cast<double>(q) * h_[0]; }
  double y(int64_t r) const { return box_.lo[1] + static_cast<double>(r) * h_[1]; }
  double step() const { return std::max(h_[0], h_[1]); }
  int64_t horizontal_edges() const { return n_ * (n_ - 1); }
  int64_t edges() const { return 2 * horizontal_edges(); }
  int64_t h_edge(int64_t r, int64_t q) const { return r * (n_ - 1) + q; }                 // (r,q)–(r,q+1)
  int64_t v_edge(int64_t r, int64_t q) const { return horizontal_edges() + r * n_ + q; }  // (r,q)–(r+1,q)

 private:
  int64_t n_;
  Box2 box_;
  double h_[2];
};

Contour march(const Grid& grid, const std::vector<double>& f, int component) {
  const int64_t n = grid.n();
  Contour c;
  c.edge_point.assign(static_cast<size_t>(grid.edges() * 2), std::nan(""));
  auto g = [&](int64_t r, int64_t q) { return f[static_cast<size_t>((r * n + q) * 2 + component)]; };
  auto crossing = [&](int64_t edge, int64_t r0, int64_t q0, int64_t r1, int64_t q1) {
    double* p = &c.edge_point[static_cast<size_t>(edge * 2)];
    if (!std::isnan(p[0])) return;
    const double ga = g(r0, q0), gb = g(r1, q1), t = ga / (ga - gb);
    p[0] = grid.x(q0) + t * (grid.x(q1) - grid.x(q0));
    p[1] = grid.y(r0) + t * (grid.y(r1) - grid.y(r0));
  };
  for (int64_t r = 0; r + 1 < n; ++r)
    for (int64_t q = 0; q + 1 < n; ++q) {
      const double v[4] = {g(r, q), g(r, q + 1), g(r + 1, q + 1), g(r + 1, q)};
      if (!(std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]) && std::isfinite(v[3]))) continue;
      const bool s[4] = {v[0] > 0, v[1] > 0, v[2] > 0, v[3] > 0};
      // Corners v0..v3 counter-clockwise from the bottom left; edges bottom, right, top, left.
      const int64_t edge[4] = {grid.h_edge(r, q), grid.v_edge(r, q + 1), grid.h_edge(r + 1, q), grid.v_edge(r, q)};
      const bool cut[4] = {s[0] != s[1], s[1] != s[2], s[3] != s[2], s[0] != s[3]};
      if (cut[0]) crossing(edge[0], r, q, r, q + 1);
      if (cut[1]) crossing(edge[1], r, q + 1, r + 1, q + 1);
      if (cut[2]) crossing(edge[2], r + 1, q, r + 1, q + 1);
      if (cut[3]) crossing(edge[3], r, q, r + 1, q);
      const int count = cut[0] + cut[1] + cut[2] + cut[3];
      const int64_t cell = r * (n - 1) + q;
      auto add = [&](int e0, int e1) {
        c.segments.push_back({edge[e0], edge[e1]});
        c.cell_of_segment.push_back(cell);
      };
      if (count == 2) {
        int e[2], k = 0;
        for (int m = 0; m < 4; ++m)
          if (cut[m]) e[k++] = m;
        add(e[0], e[1]);
      } else if (count == 4) {
        // A saddle cell: the mean of the corners decides which diagonal pair is connected.
        const bool centre = 0.25 * (v[0] + v[1] + v[2] + v[3]) > 0;
        if (centre == s[0]) {   // v0 and v2 connected: the curves cut off v1 and v3
          add(0, 1);
          add(2, 3);
        } else {                // v1 and v3 connected: the curves cut off v0 and v2
          add(3, 0);
          add(1, 2);
        }
      }
    }
  return c;
}

// Chains the segments into polylines through their shared edges (each edge joins at most two
// cells): open curves from their free ends first, then closed loops.
std::vector<std::vector<int64_t>> chain(const Contour& c, int64_t edges) {
  std::vector<std::array<int64_t, 2>> at_edge(static_cast<size_t>(edges), {-1, -1});
  for (size_t s = 0; s < c.segments.size(); ++s)
    for (int64_t e : {c.segments[s].a, c.segments[s].b}) {
      auto& slot = at_edge[static_cast<size_t>(e)];
      (slot[0] < 0 ? slot[0] : slot[1]) = static_cast<int64_t>(s);
    }
  std::vector<char> used(c.segments.size(), 0);
  std::vector<std::vector<int64_t>> curves;
  auto walk = [&](int64_t start_edge, int64_t seg) {
    std::vector<int64_t> curve{start_edge};
    int64_t e = start_edge;
    while (seg >= 0 && !used[static_cast<size_t>(seg)]) {
      used[static_cast<size_t>(seg)] = 1;
      const Segment& sg = c.segments[static_cast<size_t>(seg)];
      e = sg.a == e ? sg.b : sg.a;
      curve.push_back(e);
      const auto& slot = at_edge[static_cast<size_t>(e)];
      seg = slot[0] == seg ? slot[1] : slot[0];
    }
    curves.push_back(std::move(curve));
  };
  for (int64_t e = 0; e < edges; ++e) {
    const auto& slot = at_edge[static_cast<size_t>(e)];
    if (slot[0] >= 0 && slot[1] < 0 && !used[static_cast<size_t>(slot[0])]) walk(e, slot[0]);
  }
  for (size_t s = 0; s < c.segments.size(); ++s)
    if (!used[s]) walk(c.segments[s].a, static_cast<int64_t>(s));
  return curves;
}

// Newton projection of points onto g_c = 0 (x ← x − g ∇g / |∇g|²), batched; a point that would
// move by more than a grid step keeps its interpolated position (a fold of the curve).
void refine(const FieldFunction& field, int component, double max_move, std::vector<double>& pts) {
  const int64_t n = static_cast<int64_t>(pts.size()) / 2;
  if (n == 0) return;
  std::vector<double> x = pts, f(static_cast<size_t>(n * 2)), J(static_cast<size_t>(n * 4));
  for (int it = 0; it < 3; ++it) {
    field.values(n, x.data(), f.data());
    field.jacobians(n, x.data(), J.data());
    for (int64_t i = 0; i < n; ++i) {
      const double g = f[static_cast<size_t>(i * 2 + component)];
      const double gx = J[static_cast<size_t>(i * 4 + component * 2)], gy = J[static_cast<size_t>(i * 4 + component * 2 + 1)];
      const double gg = gx * gx + gy * gy;
      if (!(gg > 0) || !std::isfinite(g)) continue;
      x[static_cast<size_t>(i * 2)] -= g * gx / gg;
      x[static_cast<size_t>(i * 2 + 1)] -= g * gy / gg;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const double dx = x[static_cast<size_t>(i * 2)] - pts[static_cast<size_t>(i * 2)], dy = x[static_cast<size_t>(i * 2 + 1)] - pts[static_cast<size_t>(i * 2 + 1)];
    if (std::isfinite(dx) && std::isfinite(dy) && std::hypot(dx, dy) <= max_move) {
      pts[static_cast<size_t>(i * 2)] = x[static_cast<size_t>(i * 2)];
      pts[static_cast<size_t>(i * 2 + 1)] = x[static_cast<size_t>(i * 2 + 1)];
    }
  }
}

std::vector<std::vector<double>> polylines(const FieldFunction& field, const Contour& c, const Grid& grid, int component) {
  std::vector<std::vector<double>> out;
  for (const auto& curve : chain(c, grid.edges())) {
    std::vector<double> pts;
    for (int64_t e : curve) {
      pts.push_back(c.edge_point[static_cast<size_t>(e * 2)]);
      pts.push_back(c.edge_point[static_cast<size_t>(e * 2 + 1)]);
    }
    refine(field, component, grid.step(), pts);
    out.push_back(std::move(pts));
  }
  return out;
}

// Intersection of segments p0p1 and q0q1, if any.
bool intersect(const double* p0, const double* p1, const double* q0, const double* q1, double* at) {
  const double rx = p1[0] - p0[0], ry = p1[1] - p0[1], sx = q1[0] - q0[0], sy = q1[1] - q0[1];
  const double den = rx * sy - ry * sx;
  if (den == 0) return false;
  const double t = ((q0[0] - p0[0]) * sy - (q0[1] - p0[1]) * sx) / den;
  const double u = ((q0[0] - p0[0]) * ry - (q0[1] - p0[1]) * rx) / den;
  if (t < 0 || t > 1 || u < 0 || u > 1) return false;
  at[0] = p0[0] + t * rx;
  at[1] = p0[1] + t * ry;
  return true;
}

}  // namespace

Nullclines trace_nullclines(const FieldFunction& field, const Box2& box, int64_t n) {
  if (field.dim() != 2) throw Error("topography: nullclines need a 2-D field");
  if (n < 3) throw Error("topography: the nullcline grid needs at least 3 points per axis");
  const Grid grid(box, n);
  std::vector<double> nodes(static_cast<size_t>(n * n * 2)), f(static_cast<size_t>(n * n * 2));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t q = 0; q < n; ++q) {
      nodes[static_cast<size_t>((r * n + q) * 2)] = grid.x(q);
      nodes[static_cast<size_t>((r * n + q) * 2 + 1)] = grid.y(r);
    }
  field.values(n * n, nodes.data(), f.data());
  const Contour cx = march(grid, f, 0), cy = march(grid, f, 1);
  Nullclines out;
  out.grid_points = n * n;
  out.x_curves = polylines(field, cx, grid, 0);
  out.y_curves = polylines(field, cy, grid, 1);
  // Crossings: the x-segments of each cell against the y-segments of the same cell.
  std::vector<std::vector<size_t>> x_in_cell(static_cast<size_t>((n - 1) * (n - 1)));
  for (size_t s = 0; s < cx.segments.size(); ++s) x_in_cell[static_cast<size_t>(cx.cell_of_segment[s])].push_back(s);
  for (size_t t = 0; t < cy.segments.size(); ++t) {
    for (size_t s : x_in_cell[static_cast<size_t>(cy.cell_of_segment[t])]) {
      double at[2];
      const double* p0 = &cx.edge_point[static_cast<size_t>(cx.segments[s].a * 2)];
      const double* p1 = &cx.edge_point[static_cast<size_t>(cx.segments[s].b * 2)];
      const double* q0 = &cy.edge_point[static_cast<size_t>(cy.segments[t].a * 2)];
      const double* q1 = &cy.edge_point[static_cast<size_t>(cy.segments[t].b * 2)];
      // A crossing that the linear interpolation puts just outside the cell is still a
      // candidate: test against the segments' midpoint when they do not intersect.
      if (!intersect(p0, p1, q0, q1, at)) {
        at[0] = 0.25 * (p0[0] + p1[0] + q0[0] + q1[0]);
        at[1] = 0.25 * (p0[1] + p1[1] + q0[1] + q1[1]);
      }
      out.crossings.push_back(at[0]);
      out.crossings.push_back(at[1]);
    }
  }
  return out;
}

}  // namespace velofield
