#include "evaluate/transition_scores.hpp"

#include <algorithm>
#include <limits>

#include "core/log.hpp"
#include "data/row_exchange.hpp"
#include "evaluate/score_summary.hpp"
#include "evaluate/velocity_rows.hpp"

namespace velofield {

namespace {
std::vector<GroupScore> finish(MPI_Comm comm, std::vector<ExactSum>& sums, const std::vector<std::string>& names) {
  std::vector<GroupScore> out;
  for (size_t g = 0; g < sums.size(); ++g) {
    sums[g].all_reduce(comm);
    GroupScore s;
    s.name = names[g];
    s.cells = sums[g].count();
    s.score = s.cells > 0 ? sums[g].value() / static_cast<double>(s.cells) : std::numeric_limits<double>::quiet_NaN();
    out.push_back(s);
  }
  return out;
}
}  // namespace

double mean_over_groups(const std::vector<GroupScore>& groups) {
  double sum = 0;
  int n = 0;
  for (const auto& g : groups)
    if (g.cells > 0) {
      sum += g.score;
      ++n;
    }
  return n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

std::vector<GroupScore> cross_boundary_direction(MPI_Comm comm, int64_t obs_begin, const std::vector<int32_t>& codes,
                                                 const std::vector<std::pair<int32_t, int32_t>>& transitions,
                                                 const std::vector<std::string>& names, const NeighborLists& neighbors,
                                                 const std::vector<double>& positions, const DenseArray& velocity) {
  const int64_t dim = velocity.row_stride(), n_local = velocity.rows();
  std::vector<ExactSum> sums(transitions.size());
  std::vector<double> v(static_cast<size_t>(dim)), diff(static_cast<size_t>(dim));
  for (int64_t i = 0; i < n_local; ++i) {
    const int64_t gi = obs_begin + i;
    const int32_t code = codes[static_cast<size_t>(gi)];
    for (int64_t d = 0; d < dim; ++d) v[static_cast<size_t>(d)] = velocity.values.as_double(static_cast<size_t>(i * dim + d));
    for (size_t t = 0; t < transitions.size(); ++t) {
      if (transitions[t].first != code) continue;
      double total = 0;
      int64_t count = 0;
      for (int64_t k = neighbors.offsets[static_cast<size_t>(i)]; k < neighbors.offsets[static_cast<size_t>(i + 1)]; ++k) {
        const int64_t j = neighbors.ids[static_cast<size_t>(k)];
        if (codes[static_cast<size_t>(j)] != transitions[t].second) continue;
        for (int64_t d = 0; d < dim; ++d)
          diff[static_cast<size_t>(d)] = positions[static_cast<size_t>(j * dim + d)] - positions[static_cast<size_t>(gi * dim + d)];
        total += cosine(diff.data(), v.data(), dim);
        ++count;
      }
      if (count > 0) sums[t].add(total / static_cast<double>(count));
    }
  }
  return finish(comm, sums, names);
}

std::vector<GroupScore> in_cluster_coherence(MPI_Comm comm, const BlockPartition& partition, int64_t obs_begin,
                                             const std::vector<int32_t>& codes, const std::vector<std::string>& categories,
                                             const NeighborLists& neighbors, const Matrix& velocity, int64_t max_block_bytes) {
  const RowReader reader(velocity);
  const int64_t G = reader.cols(), n_local = reader.rows();
  const int64_t max_rows = std::max<int64_t>(1, max_block_bytes / (4 * std::max<int64_t>(G, 1)));
  std::vector<ExactSum> sums(categories.size());
  std::vector<double> mine(static_cast<size_t>(G)), other(static_cast<size_t>(G)), packed(static_cast<size_t>(G));
  auto same_cluster = [&](int64_t i, int64_t j) {
    const int32_t c = codes[static_cast<size_t>(obs_begin + i)];
    return c >= 0 && c == codes[static_cast<size_t>(j)];
  };
  int64_t cursor = 0;
  for (;;) {
    // Blocks are collective: every rank joins until the last rank has finished its cells.
    int more = cursor < n_local ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &more, 1, MPI_INT, MPI_MAX, comm);
    if (!more) break;
    const int64_t block_begin = cursor;
    std::vector<int64_t> needed;
    while (cursor < n_local) {
      int64_t wanted = 0;
      for (int64_t k = neighbors.offsets[static_cast<size_t>(cursor)]; k < neighbors.offsets[static_cast<size_t>(cursor + 1)]; ++k)
        wanted += same_cluster(cursor, neighbors.ids[static_cast<size_t>(k)]);
      if (cursor > block_begin && static_cast<int64_t>(needed.size()) + wanted > max_rows) break;
      for (int64_t k = neighbors.offsets[static_cast<size_t>(cursor)]; k < neighbors.offsets[static_cast<size_t>(cursor + 1)]; ++k)
        if (same_cluster(cursor, neighbors.ids[static_cast<size_t>(k)])) needed.push_back(neighbors.ids[static_cast<size_t>(k)]);
      ++cursor;
    }
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    const std::vector<float> rows = fetch_rows(comm, partition, needed, G, [&](int64_t local_row, float* out) {
      reader.read(local_row, packed.data());
      for (int64_t g = 0; g < G; ++g) out[g] = static_cast<float>(packed[static_cast<size_t>(g)]);
    });
    for (int64_t i = block_begin; i < cursor; ++i) {
      const int32_t code = codes[static_cast<size_t>(obs_begin + i)];
      if (code < 0) continue;
      reader.read(i, mine.data());
      double total = 0;
      int64_t count = 0;
      for (int64_t k = neighbors.offsets[static_cast<size_t>(i)]; k < neighbors.offsets[static_cast<size_t>(i + 1)]; ++k) {
        const int64_t j = neighbors.ids[static_cast<size_t>(k)];
        if (!same_cluster(i, j)) continue;
        const size_t slot = static_cast<size_t>(std::lower_bound(needed.begin(), needed.end(), j) - needed.begin());
        const float* row = rows.data() + slot * static_cast<size_t>(G);
        for (int64_t g = 0; g < G; ++g) other[static_cast<size_t>(g)] = row[g];
        total += cosine(mine.data(), other.data(), G);
        ++count;
      }
      if (count > 0) sums[static_cast<size_t>(code)].add(total / static_cast<double>(count));
    }
    log().progress("evaluate: ICCoh cells on rank 0", cursor, n_local);
  }
  return finish(comm, sums, categories);
}

}  // namespace velofield
