#include "topography/topography_map.hpp"
#include "core/gather.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/partition.hpp"
#include "topography/fixed_point_solver.hpp"
#include "topography/latin_hypercube.hpp"
#include "topography/separatrices.hpp"
#include "transition/global_percentile.hpp"

namespace velofield {

namespace {

int comm_rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
int comm_size(MPI_Comm comm) {
  int s = 1;
  MPI_Comm_size(comm, &s);
  return s;
}

// dynamo's confidence (spec 6.5) for the fixed points, from the cells spread over the ranks.
std::vector<double> confidence(MPI_Comm comm, const std::vector<FixedPoint>& points, int64_t dim, int64_t rows,
                               const double* cells, int64_t total, int64_t neighbors, const std::vector<double>& data_lo,
                               const std::vector<double>& data_hi) {
  if (points.empty()) return {};
  // The reference point: the cells' per-axis median (numpy's median = the 50th percentile).
  std::vector<double> queries;
  for (const auto& p : points) queries.insert(queries.end(), p.x.begin(), p.x.end());
  std::vector<double> column(static_cast<size_t>(rows));
  for (int64_t q = 0; q < dim; ++q) {
    for (int64_t i = 0; i < rows; ++i) column[static_cast<size_t>(i)] = cells[i * dim + q];
    queries.push_back(global_percentile(column, total, 50.0, comm));
  }
  const int64_t nq = static_cast<int64_t>(queries.size()) / dim;
  const int64_t k = std::max<int64_t>(1, std::min(neighbors, total - 1));
  // Each rank's k nearest distances per query (padded with +inf), merged after one gather.
  std::vector<double> local(static_cast<size_t>(nq * k), std::numeric_limits<double>::infinity()), d(static_cast<size_t>(rows));
  for (int64_t a = 0; a < nq; ++a) {
    for (int64_t i = 0; i < rows; ++i) {
      double s = 0;
      for (int64_t q = 0; q < dim; ++q) {
        const double diff = cells[i * dim + q] - queries[static_cast<size_t>(a * dim + q)];
        s += diff * diff;
      }
      d[static_cast<size_t>(i)] = std::sqrt(s);
    }
    const int64_t m = std::min(k, rows);
    std::partial_sort(d.begin(), d.begin() + m, d.end());
    std::copy(d.begin(), d.begin() + m, local.begin() + a * k);
  }
  const std::vector<double> all = gather_concat(comm, local);
  const int64_t ranks = static_cast<int64_t>(all.size()) / (nq * k);
  double sum_range = 0;
  for (int64_t q = 0; q < dim; ++q) sum_range += data_hi[static_cast<size_t>(q)] - data_lo[static_cast<size_t>(q)];
  const double sigma = 0.05 * sum_range;
  std::vector<double> density(static_cast<size_t>(nq)), merged;
  for (int64_t a = 0; a < nq; ++a) {
    merged.clear();
    for (int64_t r = 0; r < ranks; ++r) merged.insert(merged.end(), all.begin() + (r * nq + a) * k, all.begin() + (r * nq + a + 1) * k);
    std::partial_sort(merged.begin(), merged.begin() + k, merged.end());
    double mean = 0;
    for (int64_t j = 0; j < k; ++j) mean += merged[static_cast<size_t>(j)];
    mean /= static_cast<double>(k);
    density[static_cast<size_t>(a)] = sigma > 0 ? std::exp(-0.5 * mean * mean / (sigma * sigma)) : 1.0;
  }
  const double top = *std::max_element(density.begin(), density.end());
  std::vector<double> out(points.size());
  for (size_t a = 0; a < points.size(); ++a) out[a] = top > 0 ? density[a] / top : 0.0;
  return out;
}

}  // namespace

TopographyResult map_topography(MPI_Comm comm, const FieldFunction& field, int64_t rows, const double* cells,
                                int64_t global_begin, int64_t total, const TopographyOptions& o) {
  const int64_t D = field.dim();
  TopographyResult out;
  if (total < 1) throw Error("topography: no cells");

  // Domain: the cells' bounding box with dynamo's 10% margins.
  std::vector<double> data_lo(static_cast<size_t>(D), std::numeric_limits<double>::infinity());
  std::vector<double> data_hi(static_cast<size_t>(D), -std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t q = 0; q < D; ++q) {
      data_lo[static_cast<size_t>(q)] = std::min(data_lo[static_cast<size_t>(q)], cells[i * D + q]);
      data_hi[static_cast<size_t>(q)] = std::max(data_hi[static_cast<size_t>(q)], cells[i * D + q]);
    }
  MPI_Allreduce(MPI_IN_PLACE, data_lo.data(), static_cast<int>(D), MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(MPI_IN_PLACE, data_hi.data(), static_cast<int>(D), MPI_DOUBLE, MPI_MAX, comm);
  out.lo.resize(static_cast<size_t>(D));
  out.hi.resize(static_cast<size_t>(D));
  double diag = 0;
  for (int64_t q = 0; q < D; ++q) {
    double range = data_hi[static_cast<size_t>(q)] - data_lo[static_cast<size_t>(q)];
    if (!(range > 0)) range = 1;   // all cells on one line: a unit margin
    out.lo[static_cast<size_t>(q)] = data_lo[static_cast<size_t>(q)] - o.padding * range;
    out.hi[static_cast<size_t>(q)] = data_hi[static_cast<size_t>(q)] + o.padding * range;
    diag += (out.hi[static_cast<size_t>(q)] - out.lo[static_cast<size_t>(q)]) * (out.hi[static_cast<size_t>(q)] - out.lo[static_cast<size_t>(q)]);
  }
  diag = std::sqrt(diag);

  // Starts: Latin hypercube, then every stride-th cell (global order), then nullcline crossings.
  std::vector<double> starts = latin_hypercube(o.lhs_starts, out.lo, out.hi, o.seed);
  if (o.cell_starts > 0) {
    const int64_t stride = std::max<int64_t>(1, (total + o.cell_starts - 1) / o.cell_starts);
    std::vector<double> mine;
    for (int64_t i = 0; i < rows; ++i)
      if ((global_begin + i) % stride == 0) mine.insert(mine.end(), cells + i * D, cells + (i + 1) * D);
    const std::vector<double> all = gather_concat(comm, mine);
    starts.insert(starts.end(), all.begin(), all.end());
  }
  Box2 box;
  if (D == 2) {
    box.lo = {out.lo[0], out.lo[1]};
    box.hi = {out.hi[0], out.hi[1]};
    out.nullclines = trace_nullclines(field, box, o.nullcline_grid);
    starts.insert(starts.end(), out.nullclines.crossings.begin(), out.nullclines.crossings.end());
  }
  const int64_t S = static_cast<int64_t>(starts.size()) / D;
  out.starts = S;

  // This rank's block of starts; the field's scale (max |f| over all starts) sets the tolerances.
  const BlockPartition part{S, comm_size(comm)};
  const int me = comm_rank(comm);
  const int64_t b = part.begin(me), n = part.size(me);
  std::vector<double> f0(static_cast<size_t>(n * D));
  field.values(n, starts.data() + b * D, f0.data());
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t q = 0; q < D; ++q) s += f0[static_cast<size_t>(i * D + q)] * f0[static_cast<size_t>(i * D + q)];
    if (std::isfinite(s)) scale = std::max(scale, std::sqrt(s));
  }
  MPI_Allreduce(MPI_IN_PLACE, &scale, 1, MPI_DOUBLE, MPI_MAX, comm);
  if (!(scale > 0)) scale = 1;
  out.field_scale = scale;
  RootSolveOptions ro;
  ro.max_iterations = o.max_iterations;
  ro.f_tol = 1e-15 * scale;
  ro.x_tol = 1e-15 * diag;
  ro.max_step = diag / 20;
  const std::vector<RootCandidate> roots = solve_roots(field, n, starts.data() + b * D, ro);
  std::vector<double> packed;
  for (const auto& r : roots) {
    packed.insert(packed.end(), r.x.begin(), r.x.end());
    packed.push_back(r.residual);
  }
  const std::vector<double> all = gather_concat(comm, packed);

  // Accepted roots, deduplicated in start order.
  std::vector<double> kept;
  for (int64_t s = 0; s < S; ++s) {
    const double* x = all.data() + s * (D + 1);
    const double residual = x[D];
    if (!(residual <= o.root_tol * scale)) continue;
    ++out.converged;
    bool inside = true;
    for (int64_t q = 0; q < D; ++q) inside = inside && x[q] >= out.lo[static_cast<size_t>(q)] && x[q] <= out.hi[static_cast<size_t>(q)];
    if (!inside) continue;
    bool duplicate = false;
    for (const auto& p : out.points) {
      double d2 = 0;
      for (int64_t q = 0; q < D; ++q) d2 += (p.x[static_cast<size_t>(q)] - x[q]) * (p.x[static_cast<size_t>(q)] - x[q]);
      duplicate = duplicate || std::sqrt(d2) < o.duplicate_tol * diag;
    }
    if (duplicate) continue;
    FixedPoint p;
    p.x.assign(x, x + D);
    p.residual = residual;
    out.points.push_back(std::move(p));
  }

  // Classification with the analytic Jacobian.
  const int64_t nfp = static_cast<int64_t>(out.points.size());
  std::vector<double> xs, js(static_cast<size_t>(nfp * D * D));
  for (const auto& p : out.points) xs.insert(xs.end(), p.x.begin(), p.x.end());
  field.jacobians(nfp, xs.data(), js.data());
  for (int64_t k = 0; k < nfp; ++k) {
    FixedPoint& p = out.points[static_cast<size_t>(k)];
    p.jacobian.assign(js.begin() + k * D * D, js.begin() + (k + 1) * D * D);
    p.eigenvalues = eigenvalues(D, p.jacobian.data());
    p.type = fixed_point_type(p.eigenvalues);
    p.kind = fixed_point_kind(p.eigenvalues);
  }
  const std::vector<double> conf = confidence(comm, out.points, D, rows, cells, total, o.confidence_neighbors, data_lo, data_hi);
  for (int64_t k = 0; k < nfp; ++k) out.points[static_cast<size_t>(k)].confidence = conf[static_cast<size_t>(k)];

  if (D == 2 && o.separatrices) {
    std::vector<double> saddles, jacobians;
    for (const auto& p : out.points)
      if (p.kind == FixedPointKind::saddle) {
        saddles.insert(saddles.end(), p.x.begin(), p.x.end());
        jacobians.insert(jacobians.end(), p.jacobian.begin(), p.jacobian.end());
      }
    for (auto& curve : separatrices(field, saddles, jacobians, box, SeparatrixOptions{}))
      if (curve.size() >= 4) out.separatrices.push_back(std::move(curve));
  }
  return out;
}

}  // namespace velofield
