#include "neighbors/exact_knn.hpp"

#include <cmath>

#include "knn_tile.hpp"

namespace velofield {

LocalSearch brute_force_search(const KnnPoints& points) {
  const double* data = points.local.data();
  const int64_t n_local = points.n_local(), first = points.first();
  const int dim = points.dim;
  return [=](int64_t n, const double* queries, const int64_t* ids, int k, double* best_dist2, int64_t* best_ids) {
    kernels::knn_tile_update(n, dim, queries, ids, n_local, data, first, k, best_dist2, best_ids);
  };
}

QueryLists exact_lists_for(const KnnPoints& points, int k, std::vector<double> query_points, std::vector<int64_t> query_ids) {
  QueryLists lists;
  lists.points = std::move(query_points);
  lists.ids = std::move(query_ids);
  const int others = k - 1;
  lists.dist2.resize(static_cast<size_t>(lists.size() * others));
  lists.best.resize(static_cast<size_t>(lists.size() * others));
  kernels::knn_lists_reset(lists.size(), others, lists.dist2.data(), lists.best.data());
  ring_search(points.comm, points.dim, others, lists, brute_force_search(points));
  return lists;
}

KnnGraph graph_from_lists(const QueryLists& lists, int k) {
  KnnGraph g;
  g.k = k;
  g.n_local = lists.size();
  const int others = k - 1;
  g.ids.resize(static_cast<size_t>(g.n_local * k));
  g.distances.resize(static_cast<size_t>(g.n_local * k));
  for (int64_t i = 0; i < g.n_local; ++i) {
    const size_t row = static_cast<size_t>(i * k);
    g.ids[row] = lists.ids[static_cast<size_t>(i)];
    g.distances[row] = 0;
    for (int j = 0; j < others; ++j) {
      const size_t from = static_cast<size_t>(i * others + j);
      g.ids[row + 1 + static_cast<size_t>(j)] = lists.best[from];
      g.distances[row + 1 + static_cast<size_t>(j)] = std::sqrt(lists.dist2[from]);
    }
  }
  return g;
}

KnnGraph exact_knn(const KnnPoints& points, int k) {
  std::vector<int64_t> ids(static_cast<size_t>(points.n_local()));
  for (int64_t i = 0; i < points.n_local(); ++i) ids[static_cast<size_t>(i)] = points.first() + i;
  return graph_from_lists(exact_lists_for(points, k, points.local, std::move(ids)), k);
}

}  // namespace velofield
