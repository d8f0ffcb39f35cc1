#pragma once
// The communication pattern of distributed kNN search: every rank's query block travels around
// the ring of ranks with its running neighbour lists; at each rank the lists are improved with
// that rank's own points (by brute force or by its local index), and after a full turn the block
// is back with its owner. Each rank's points never move, and memory per rank is two query blocks.
#include <cstdint>
#include <functional>
#include <vector>

#include "neighbors/knn_graph.hpp"

namespace velofield {

// Improves `n` running lists (k entries each: squared distances ascending, ids; empty = +inf/-1)
// of the query points `queries` (n × dim, global ids `ids`) with this rank's points.
using LocalSearch = std::function<void(int64_t n, const double* queries, const int64_t* ids, int k, double* best_dist2,
                                       int64_t* best_ids)>;

struct QueryLists {
  std::vector<double> points;      // n × dim
  std::vector<int64_t> ids;        // n
  std::vector<double> dist2;       // n × k
  std::vector<int64_t> best;       // n × k
  int64_t size() const { return static_cast<int64_t>(ids.size()); }
};

// Inserts one candidate into a running list of k (same order as the tile kernel: distance, then
// id; a candidate already listed or not better than the k-th is ignored). Host code, for searches
// that produce a few candidates per query (an index) rather than whole blocks.
inline void merge_candidate(double d2, int64_t id, int k, double* dist2, int64_t* ids) {
  auto before = [](double d, int64_t a, double e, int64_t b) { return b < 0 || d < e || (d == e && a < b); };
  if (!before(d2, id, dist2[k - 1], ids[k - 1])) return;
  for (int j = 0; j < k; ++j)
    if (ids[j] == id) return;
  int j = k - 1;
  while (j > 0 && before(d2, id, dist2[j - 1], ids[j - 1])) {
    dist2[j] = dist2[j - 1];
    ids[j] = ids[j - 1];
    --j;
  }
  dist2[j] = d2;
  ids[j] = id;
}

// Collective. `mine` starts with empty (or partial) lists for this rank's queries and returns with
// lists merged over the points of every rank. Ranks may have different numbers of queries
// (including none).
void ring_search(MPI_Comm comm, int dim, int k, QueryLists& mine, const LocalSearch& search);

}  // namespace velofield
