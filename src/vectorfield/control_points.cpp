#include "vectorfield/control_points.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <unordered_map>

#include "core/error.hpp"
#include "simulate/counter_rng.hpp"

namespace velofield {

namespace {

// Part of every sampling key, so the control-point draw never shares numbers with another use of
// the counter-based generator ("vfctrlpt").
constexpr uint64_t kControlPointPurpose = 0x76666374726c7074ULL;

struct Candidate {
  double key;
  int64_t cell;
};

// Larger key first; equal keys (probability ~0) by cell index, so the order is total.
bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.key > b.key || (a.key == b.key && a.cell < b.cell);
}

// Coordinates as a hash key (+0 and -0 are the same position).
uint64_t position_hash(const double* p, int64_t dim) {
  uint64_t h = 0x6a09e667f3bcc909ULL;
  for (int64_t q = 0; q < dim; ++q) {
    const double v = p[q] == 0 ? 0.0 : p[q];
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    h = sim::mix64(h ^ sim::mix64(bits));
  }
  return h;
}

// Positions already taken, for the distinct-centres rule.
class PositionSet {
 public:
  explicit PositionSet(int64_t dim) : dim_(dim) {}
  // Adds p unless an equal position is present; returns whether it was added.
  bool insert(const double* p) {
    auto range = index_.equal_range(position_hash(p, dim_));
    for (auto it = range.first; it != range.second; ++it)
      if (std::equal(p, p + dim_, coords_.begin() + it->second * dim_)) return false;
    index_.emplace(position_hash(p, dim_), static_cast<int64_t>(coords_.size()) / std::max<int64_t>(dim_, 1));
    coords_.insert(coords_.end(), p, p + dim_);
    return true;
  }

 private:
  int64_t dim_;
  std::vector<double> coords_;
  std::unordered_multimap<uint64_t, int64_t> index_;
};

template <class T>
std::vector<T> all_gather_v(MPI_Comm comm, const std::vector<T>& mine, MPI_Datatype type, std::vector<int>& counts,
                            std::vector<int>& displs) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  int n = static_cast<int>(mine.size());
  counts.assign(static_cast<size_t>(size), 0);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  displs.assign(static_cast<size_t>(size), 0);
  for (int r = 1; r < size; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
  std::vector<T> all(static_cast<size_t>(displs.back() + counts.back()));
  MPI_Allgatherv(mine.data(), n, type, all.data(), counts.data(), displs.data(), type, comm);
  return all;
}

}  // namespace

ControlPoints sample_control_points_by_speed(MPI_Comm comm, int64_t obs_begin, int64_t rows, int64_t dim,
                                             const double* x, const double* speed, int64_t M, uint64_t seed,
                                             const std::string& what) {
  std::vector<Candidate> local;
  for (int64_t r = 0; r < rows; ++r) {
    const double s = speed[r];
    if (!(s > 0) || !std::isfinite(s)) continue;
    sim::CounterRng rng(sim::hash_key({seed, kControlPointPurpose, static_cast<uint64_t>(obs_begin + r)}));
    local.push_back({std::log(rng.uniform()) / s, obs_begin + r});
  }
  std::sort(local.begin(), local.end(), ranks_before);

  // Every rank offers its best `offer` candidates; the merged list is walked in key order, which
  // is the serial walk over all cells as long as it does not pass the last offered candidate of a
  // rank that has more. If it must (positions repeat), the offer doubles and the walk restarts.
  ControlPoints out;
  out.dim = dim;
  int64_t offer = std::max<int64_t>(M, 1);
  for (;;) {
    const int64_t n_offer = std::min<int64_t>(offer, static_cast<int64_t>(local.size()));
    std::vector<double> keys(static_cast<size_t>(n_offer)), coords(static_cast<size_t>(n_offer * dim));
    std::vector<int64_t> cells(static_cast<size_t>(n_offer));
    for (int64_t k = 0; k < n_offer; ++k) {
      keys[static_cast<size_t>(k)] = local[static_cast<size_t>(k)].key;
      cells[static_cast<size_t>(k)] = local[static_cast<size_t>(k)].cell;
      const int64_t row = local[static_cast<size_t>(k)].cell - obs_begin;
      std::copy(x + row * dim, x + (row + 1) * dim, coords.begin() + k * dim);
    }
    const int has_more = static_cast<int64_t>(local.size()) > n_offer ? 1 : 0;
    std::vector<int> counts, displs, coord_counts, coord_displs, more_counts, more_displs;
    const auto all_keys = all_gather_v(comm, keys, MPI_DOUBLE, counts, displs);
    const auto all_cells = all_gather_v(comm, cells, MPI_INT64_T, counts, displs);
    const auto all_coords = all_gather_v(comm, coords, MPI_DOUBLE, coord_counts, coord_displs);
    const auto more = all_gather_v(comm, std::vector<int>{has_more}, MPI_INT, more_counts, more_displs);

    // The last offered candidate of every rank that holds more: the walk may not go past it.
    std::vector<int64_t> order(all_keys.size());
    std::vector<char> is_frontier(all_keys.size(), 0);
    for (size_t r = 0; r < counts.size(); ++r)
      if (more[r] && counts[r] > 0) is_frontier[static_cast<size_t>(displs[r] + counts[r] - 1)] = 1;
    for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<int64_t>(k);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return ranks_before({all_keys[static_cast<size_t>(a)], all_cells[static_cast<size_t>(a)]},
                          {all_keys[static_cast<size_t>(b)], all_cells[static_cast<size_t>(b)]});
    });

    out.cells.clear();
    out.coords.clear();
    PositionSet taken(dim);
    bool must_offer_more = false;
    for (int64_t k : order) {
      if (out.size() == M) break;
      const double* p = all_coords.data() + k * dim;
      if (taken.insert(p)) {
        out.cells.push_back(all_cells[static_cast<size_t>(k)]);
        out.coords.insert(out.coords.end(), p, p + dim);
      }
      if (is_frontier[static_cast<size_t>(k)] && out.size() < M) {
        must_offer_more = true;
        break;
      }
    }
    if (!must_offer_more) break;
    offer *= 2;
  }
  if (out.size() < M)
    throw Error(what + ": only " + std::to_string(out.size()) +
                " cells have a finite, nonzero velocity at distinct positions, fewer than the M = " + std::to_string(M) +
                " control points asked for (lower M)");
  return out;
}

ControlPoints control_points_from_cells(MPI_Comm comm, int64_t obs_begin, int64_t rows, int64_t dim, const double* x,
                                        const std::vector<int64_t>& cells) {
  ControlPoints out;
  out.dim = dim;
  out.cells = cells;
  // Each coordinate has exactly one owner and zeros elsewhere, so the sum is the value itself.
  out.coords.assign(cells.size() * static_cast<size_t>(dim), 0.0);
  for (size_t k = 0; k < cells.size(); ++k) {
    const int64_t row = cells[k] - obs_begin;
    if (row >= 0 && row < rows) std::copy(x + row * dim, x + (row + 1) * dim, out.coords.begin() + static_cast<int64_t>(k) * dim);
  }
  MPI_Allreduce(MPI_IN_PLACE, out.coords.data(), static_cast<int>(out.coords.size()), MPI_DOUBLE, MPI_SUM, comm);
  return out;
}

std::vector<int64_t> read_cell_index_file(const std::string& path, int64_t n_obs) {
  std::ifstream in(path);
  if (!in) fail(path, "", "cannot open the control-point file (a list of global cell indices, one per line)");
  std::vector<int64_t> cells;
  std::map<int64_t, int64_t> first_line;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const std::string token = line.substr(b, e - b + 1);
    const std::string where = "line " + std::to_string(line_no);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != token.size()) fail(path, where, "'" + token + "' is not a cell index (one integer per line)");
    if (v < 0 || v >= n_obs)
      fail(path, where, "cell index " + token + " is outside [0, " + std::to_string(n_obs) + ")");
    auto [it, added] = first_line.emplace(v, line_no);
    if (!added) fail(path, where, "cell " + token + " is listed twice (first on line " + std::to_string(it->second) + ")");
    cells.push_back(v);
  }
  if (cells.empty()) fail(path, "", "no cell index in the file");
  return cells;
}

}  // namespace velofield

namespace velofield {
int64_t first_repeated_position(const ControlPoints& points) {
  PositionSet taken(points.dim);
  for (int64_t k = 0; k < points.size(); ++k)
    if (!taken.insert(points.coords.data() + k * points.dim)) return k;
  return -1;
}
}  // namespace velofield
