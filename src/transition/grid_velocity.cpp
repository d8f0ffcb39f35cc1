#include "transition/grid_velocity.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "evaluate/score_summary.hpp"

namespace velofield {

namespace {

struct Cell {
  double x, y, vx, vy;
  int64_t id;   // global index: ties in distance go to the lower index
};

struct Candidate {
  double dist2;
  int64_t cell;   // position in the rank's list of finite cells
};

uint64_t bits_of(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
double double_of(uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// numpy.linspace(lo, hi, m): lo + t·step, the last point exactly hi.
std::vector<double> linspace(double lo, double hi, int64_t m) {
  std::vector<double> g(static_cast<size_t>(m));
  const double step = m > 1 ? (hi - lo) / static_cast<double>(m - 1) : 0.0;
  for (int64_t t = 0; t < m; ++t) g[static_cast<size_t>(t)] = lo + static_cast<double>(t) * step;
  if (m > 1) g.back() = hi;
  return g;
}

// numpy.percentile(values, percent) with the default linear rule.
double local_percentile(std::vector<double> v, double percent) {
  std::sort(v.begin(), v.end());
  const double h = static_cast<double>(v.size() - 1) * percent / 100.0;
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= v.size()) return v[lo];
  const double t = h - static_cast<double>(lo), diff = v[lo + 1] - v[lo];
  return t >= 0.5 ? v[lo + 1] - diff * (1 - t) : v[lo] + diff * t;
}

}  // namespace

UnsNode grid_velocity(const Dataset& d, const DenseArray& E, const DenseArray& dE, const GridVelocityOptions& options,
                      GridVelocityReport& report) {
  const int64_t m = options.points_per_axis;
  const double t0 = MPI_Wtime();
  const int64_t se = E.row_stride(), sv = dE.row_stride();
  std::vector<Cell> cells;
  double lo[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  double hi[2] = {-lo[0], -lo[1]};
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const Cell c{E.values.as_double(static_cast<size_t>(i * se)), E.values.as_double(static_cast<size_t>(i * se + 1)),
                 dE.values.as_double(static_cast<size_t>(i * sv)), dE.values.as_double(static_cast<size_t>(i * sv + 1)), d.obs_begin + i};
    if (!std::isfinite(c.x) || !std::isfinite(c.y) || !std::isfinite(c.vx) || !std::isfinite(c.vy)) continue;
    cells.push_back(c);
    lo[0] = std::min(lo[0], c.x);
    lo[1] = std::min(lo[1], c.y);
    hi[0] = std::max(hi[0], c.x);
    hi[1] = std::max(hi[1], c.y);
  }
  int64_t total = static_cast<int64_t>(cells.size());
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, lo, 2, MPI_DOUBLE, MPI_MIN, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, hi, 2, MPI_DOUBLE, MPI_MAX, d.comm);
  report.cells = total;
  if (total == 0) return UnsNode::dict();

  // The grid, with dynamo's margins.
  std::vector<double> axis[2];
  for (int k = 0; k < 2; ++k) {
    const double range = hi[k] - lo[k];
    const double low = lo[k] - 0.01 * range;
    axis[k] = linspace(low, hi[k] + 0.01 * (hi[k] - low), m);
  }
  const double scale = m > 1 ? 0.5 * 0.5 * ((axis[0][1] - axis[0][0]) + (axis[1][1] - axis[1][0])) : 1.0;
  const int64_t nn = std::min(total, std::max<int64_t>(10, total / 50));
  report.neighbors = nn;
  const int64_t points = m * m;
  const double norm_pdf = 1.0 / (scale * std::sqrt(2.0 * 3.14159265358979323846));

  // Per grid point: [Σw, Σw·vx, Σw·vy, Σvx, Σvy, Σvx², Σvx·vy, Σvy², Σ|vx|, Σ|vy|] over its nn cells.
  constexpr int kSums = 10;
  std::vector<double> sums(static_cast<size_t>(points * kSums), 0.0);
  const int64_t local = static_cast<int64_t>(cells.size());
  const int64_t keep = std::min(nn, local);   // a rank's candidates per point
  int64_t keep_max = keep;
  MPI_Allreduce(MPI_IN_PLACE, &keep_max, 1, MPI_INT64_T, MPI_MAX, d.comm);
  // Batches of grid points bound the candidate lists (the same batches on every rank).
  const int64_t batch = std::max<int64_t>(1, std::min<int64_t>(points, (int64_t(1) << 22) / std::max<int64_t>(1, keep_max)));
  std::vector<Candidate> all, candidates(static_cast<size_t>(batch * keep));
  std::vector<uint64_t> bound_lo(static_cast<size_t>(batch)), bound_hi(static_cast<size_t>(batch));
  std::vector<int64_t> count(static_cast<size_t>(batch));
  // Small problems (pancreas: 2500 points × 73 cells) gather the candidates in one collective;
  // large ones bisect, 64 rounds whatever the size.
  const int ranks = d.ranks();
  const bool gather = points * keep_max * ranks <= options.gather_limit;
  // The rank's cells binned by the grid's own squares (bin (q, r) starts at grid point (q, r)), so
  // that a point's nearest cells are found ring by ring around it instead of among all cells.
  const double step[2] = {m > 1 ? axis[0][1] - axis[0][0] : 1.0, m > 1 ? axis[1][1] - axis[1][0] : 1.0};
  auto bin_of = [&](double v, int k) {
    const double b = std::floor((v - axis[k][0]) / step[k]);
    return static_cast<int64_t>(std::clamp(b, 0.0, static_cast<double>(m - 1)));
  };
  std::vector<int64_t> bin_start(static_cast<size_t>(points + 1), 0), binned(static_cast<size_t>(local));
  for (const Cell& c : cells) bin_start[static_cast<size_t>(bin_of(c.y, 1) * m + bin_of(c.x, 0) + 1)]++;
  for (int64_t b = 0; b < points; ++b) bin_start[static_cast<size_t>(b + 1)] += bin_start[static_cast<size_t>(b)];
  {
    std::vector<int64_t> fill(bin_start.begin(), bin_start.end() - 1);
    for (int64_t c = 0; c < local; ++c) {
      const Cell& cell = cells[static_cast<size_t>(c)];
      binned[static_cast<size_t>(fill[static_cast<size_t>(bin_of(cell.y, 1) * m + bin_of(cell.x, 0))]++)] = c;
    }
  }
  const double min_step = std::min(step[0], step[1]);
  for (int64_t p0 = 0; p0 < points; p0 += batch) {
    const int64_t p1 = std::min(points, p0 + batch), nb = p1 - p0;
    // The rank's `keep` nearest cells of each point, sorted by distance (then index): rings of
    // bins until `keep` cells lie strictly closer than every bin not yet searched.
    for (int64_t p = p0; p < p1 && keep > 0; ++p) {
      const int64_t q = p % m, r = p / m;
      const double gx = axis[0][static_cast<size_t>(q)], gy = axis[1][static_cast<size_t>(r)];
      all.clear();
      for (int64_t ring = 0;; ++ring) {
        for (int64_t br = std::max<int64_t>(0, r - ring); br <= std::min(m - 1, r + ring); ++br) {
          const bool edge_row = br == r - ring || br == r + ring;
          for (int64_t bq = std::max<int64_t>(0, q - ring); bq <= std::min(m - 1, q + ring); ++bq) {
            if (!edge_row && bq != q - ring && bq != q + ring) continue;   // inner bins: earlier rings
            const int64_t b = br * m + bq;
            for (int64_t k = bin_start[static_cast<size_t>(b)]; k < bin_start[static_cast<size_t>(b + 1)]; ++k) {
              const int64_t c = binned[static_cast<size_t>(k)];
              const double dx = cells[static_cast<size_t>(c)].x - gx, dy = cells[static_cast<size_t>(c)].y - gy;
              all.push_back({dx * dx + dy * dy, c});
            }
          }
        }
        const bool everything = ring >= m;
        const double reach = static_cast<double>(ring) * min_step;   // every unsearched cell is at least this far
        if (everything) break;
        if (static_cast<int64_t>(all.size()) >= keep &&
            std::count_if(all.begin(), all.end(), [&](const Candidate& c) { return c.dist2 < reach * reach; }) >= keep)
          break;
      }
      auto closer = [&](const Candidate& a, const Candidate& b) {
        return a.dist2 != b.dist2 ? a.dist2 < b.dist2 : cells[static_cast<size_t>(a.cell)].id < cells[static_cast<size_t>(b.cell)].id;
      };
      std::nth_element(all.begin(), all.begin() + (keep - 1), all.end(), closer);
      std::sort(all.begin(), all.begin() + keep, closer);
      std::copy(all.begin(), all.begin() + keep, candidates.begin() + (p - p0) * keep);
    }
    // Per point, the nn nearest cells over all ranks are those up to a threshold (squared
    // distance, global index) in lexicographic order.
    std::vector<double> last_dist2(static_cast<size_t>(nb));
    std::vector<int64_t> last_id(static_cast<size_t>(nb), std::numeric_limits<int64_t>::max());
    if (gather) {
      // Few candidates: every rank gets all of them (one collective) and picks the same nn.
      std::vector<Candidate> mine(candidates.begin(), candidates.begin() + nb * keep);
      for (auto& c : mine) c.cell = cells[static_cast<size_t>(c.cell)].id;   // global indices travel
      std::vector<int> counts(static_cast<size_t>(ranks)), displs(static_cast<size_t>(ranks), 0);
      int bytes = static_cast<int>(mine.size() * sizeof(Candidate));
      MPI_Allgather(&bytes, 1, MPI_INT, counts.data(), 1, MPI_INT, d.comm);
      for (int r = 1; r < ranks; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
      std::vector<Candidate> all_ranks(static_cast<size_t>((displs.back() + counts.back()) / static_cast<int>(sizeof(Candidate))));
      MPI_Allgatherv(mine.data(), bytes, MPI_BYTE, all_ranks.data(), counts.data(), displs.data(), MPI_BYTE, d.comm);
      std::vector<Candidate> point;
      for (int64_t q = 0; q < nb; ++q) {
        point.clear();
        for (int r = 0; r < ranks; ++r) {
          const int64_t per_rank = counts[static_cast<size_t>(r)] / static_cast<int>(sizeof(Candidate)) / nb;   // that rank's keep
          const Candidate* first = all_ranks.data() + displs[static_cast<size_t>(r)] / static_cast<int>(sizeof(Candidate)) + q * per_rank;
          point.insert(point.end(), first, first + per_rank);
        }
        std::nth_element(point.begin(), point.begin() + (nn - 1), point.end(), [](const Candidate& a, const Candidate& b) {
          return a.dist2 != b.dist2 ? a.dist2 < b.dist2 : a.cell < b.cell;
        });
        last_dist2[static_cast<size_t>(q)] = point[static_cast<size_t>(nn - 1)].dist2;
        last_id[static_cast<size_t>(q)] = point[static_cast<size_t>(nn - 1)].cell;
      }
    } else {
      // Bisection on the order-preserving bits of the non-negative doubles, all points of the
      // batch at once: 64 rounds of one all-reduce of counts.
      std::fill(bound_lo.begin(), bound_lo.begin() + nb, 0);
      std::fill(bound_hi.begin(), bound_hi.begin() + nb, bits_of(std::numeric_limits<double>::infinity()));
      for (int round = 0; round < 64; ++round) {
        for (int64_t q = 0; q < nb; ++q) {
          const uint64_t mid = bound_lo[static_cast<size_t>(q)] + (bound_hi[static_cast<size_t>(q)] - bound_lo[static_cast<size_t>(q)]) / 2;
          const double v = double_of(mid);
          const Candidate* first = candidates.data() + q * keep;
          count[static_cast<size_t>(q)] =
              std::upper_bound(first, first + keep, v, [](double x, const Candidate& c) { return x < c.dist2; }) - first;
        }
        MPI_Allreduce(MPI_IN_PLACE, count.data(), static_cast<int>(nb), MPI_INT64_T, MPI_SUM, d.comm);
        bool open = false;
        for (int64_t q = 0; q < nb; ++q) {
          const uint64_t mid = bound_lo[static_cast<size_t>(q)] + (bound_hi[static_cast<size_t>(q)] - bound_lo[static_cast<size_t>(q)]) / 2;
          if (count[static_cast<size_t>(q)] >= nn)
            bound_hi[static_cast<size_t>(q)] = mid;
          else
            bound_lo[static_cast<size_t>(q)] = mid + 1;
          open |= bound_lo[static_cast<size_t>(q)] < bound_hi[static_cast<size_t>(q)];
        }
        if (!open) break;   // the same on every rank: the counts are global
      }
      // Cells strictly inside the radius all count; of those exactly on it, the lowest indices.
      std::vector<int64_t> inside(static_cast<size_t>(nb)), on(static_cast<size_t>(nb));
      for (int64_t q = 0; q < nb; ++q) {
        const double r = double_of(bound_lo[static_cast<size_t>(q)]);
        last_dist2[static_cast<size_t>(q)] = r;
        const Candidate* first = candidates.data() + q * keep;
        inside[static_cast<size_t>(q)] = std::lower_bound(first, first + keep, r, [](const Candidate& c, double x) { return c.dist2 < x; }) - first;
        on[static_cast<size_t>(q)] =
            (std::upper_bound(first, first + keep, r, [](double x, const Candidate& c) { return x < c.dist2; }) - first) -
            inside[static_cast<size_t>(q)];
      }
      std::vector<int64_t> inside_all(inside), on_all(on);
      MPI_Allreduce(MPI_IN_PLACE, inside_all.data(), static_cast<int>(nb), MPI_INT64_T, MPI_SUM, d.comm);
      MPI_Allreduce(MPI_IN_PLACE, on_all.data(), static_cast<int>(nb), MPI_INT64_T, MPI_SUM, d.comm);
      for (int64_t q = 0; q < nb; ++q) {
        const int64_t wanted = nn - inside_all[static_cast<size_t>(q)];
        if (on_all[static_cast<size_t>(q)] <= wanted) continue;
        // More cells on the radius than places (equal distances: rare): the lowest global indices.
        const Candidate* first = candidates.data() + q * keep;
        std::vector<double> ids;
        for (int64_t k = inside[static_cast<size_t>(q)]; k < inside[static_cast<size_t>(q)] + on[static_cast<size_t>(q)]; ++k)
          ids.push_back(static_cast<double>(cells[static_cast<size_t>(first[k].cell)].id));
        last_id[static_cast<size_t>(q)] = static_cast<int64_t>(distributed_kth(ids, wanted - 1, d.comm));
      }
    }
    // The weighted sums over the rank's cells within the thresholds (candidates are sorted by
    // (distance, index), so they are a prefix).
    for (int64_t q = 0; q < nb; ++q) {
      const Candidate* first = candidates.data() + q * keep;
      double* s = sums.data() + (p0 + q) * kSums;
      for (int64_t k = 0; k < keep; ++k) {
        const Cell& c = cells[static_cast<size_t>(first[k].cell)];
        const double t = last_dist2[static_cast<size_t>(q)];
        if (first[k].dist2 > t || (first[k].dist2 == t && c.id > last_id[static_cast<size_t>(q)])) break;
        const double w = norm_pdf * std::exp(-first[k].dist2 / (2 * scale * scale));
        const double v[kSums] = {w, w * c.vx, w * c.vy, c.vx, c.vy, c.vx * c.vx, c.vx * c.vy, c.vy * c.vy, std::fabs(c.vx), std::fabs(c.vy)};
        for (int j = 0; j < kSums; ++j) s[j] += v[j];
      }
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), MPI_DOUBLE, MPI_SUM, d.comm);

  DenseArray x_grid = DenseArray::zeros({2, m}), v_grid = DenseArray::zeros({2, m, m}), diffusion = DenseArray::zeros({points, 2, 2});
  double* xg = x_grid.values.data<double>();
  double* vg = v_grid.values.data<double>();
  double* dg = diffusion.values.data<double>();
  for (int64_t t = 0; t < m; ++t) {
    xg[t] = axis[0][static_cast<size_t>(t)];
    xg[m + t] = axis[1][static_cast<size_t>(t)];
  }
  std::vector<double> mass(static_cast<size_t>(points)), length(static_cast<size_t>(points));
  const double inv = 1.0 / static_cast<double>(nn);
  for (int64_t p = 0; p < points; ++p) {
    const double* s = sums.data() + p * kSums;
    const double denominator = std::max(1.0, s[0]);
    vg[p] = s[1] / denominator;            // V_grid[0][r][q], p = r·m + q
    vg[points + p] = s[2] / denominator;   // V_grid[1][r][q]
    const double mx = s[3] * inv, my = s[4] * inv;
    dg[p * 4 + 0] = (s[5] * inv - mx * mx) / 2;
    dg[p * 4 + 1] = dg[p * 4 + 2] = (s[6] * inv - mx * my) / 2;
    dg[p * 4 + 3] = (s[7] * inv - my * my) / 2;
    mass[static_cast<size_t>(p)] = std::hypot(vg[p], vg[points + p]);
    length[static_cast<size_t>(p)] = (s[8] + s[9]) * inv;
  }
  const double min_mass = std::min(1e-5, 0.9 * *std::max_element(mass.begin(), mass.end()));
  const double min_length = local_percentile(length, 5.0);
  for (int64_t p = 0; p < points; ++p)
    if (mass[static_cast<size_t>(p)] < min_mass || length[static_cast<size_t>(p)] < min_length) vg[p] = std::nan("");

  UnsNode grid = UnsNode::dict();
  grid["X_grid"] = UnsNode::numeric(std::move(x_grid));
  grid["V_grid"] = UnsNode::numeric(std::move(v_grid));
  grid["D"] = UnsNode::numeric(std::move(diffusion));
  report.seconds = MPI_Wtime() - t0;
  return grid;
}

}  // namespace velofield
