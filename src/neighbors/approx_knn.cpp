#include "neighbors/approx_knn.hpp"

#include <hnswlib/hnswlib.h>

#include <memory>

#include "core/log.hpp"
#include "knn_tile.hpp"
#include "neighbors/exact_knn.hpp"

namespace velofield {

KnnGraph approx_knn(const KnnPoints& points, int k, const HnswOptions& options) {
  const int dim = points.dim;
  const int64_t n_local = points.n_local(), first = points.first();
  // hnswlib works in float32; the candidates' distances are recomputed in double below, so the
  // lists and the graph carry the same distances the exact search would. Zero columns pad the
  // points to a multiple of 16 (or 4) floats: hnswlib's SIMD distance then has no scalar tail
  // (30 → 32 dimensions), and zeros change no distance.
  const int padded = dim > 16 ? (dim + 15) / 16 * 16 : (dim + 3) / 4 * 4;
  std::vector<float> local_f(static_cast<size_t>(n_local * padded), 0.0f);
  for (int64_t i = 0; i < n_local; ++i)
    for (int c = 0; c < dim; ++c) local_f[static_cast<size_t>(i * padded + c)] = static_cast<float>(points.local[static_cast<size_t>(i * dim + c)]);
  hnswlib::L2Space space(static_cast<size_t>(padded));
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
  if (n_local > 0) {
    index = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, static_cast<size_t>(n_local), static_cast<size_t>(options.m),
                                                              static_cast<size_t>(options.ef_construction),
                                                              static_cast<size_t>(options.seed + 100));
    for (int64_t i = 0; i < n_local; ++i) {
      index->addPoint(local_f.data() + i * padded, static_cast<hnswlib::labeltype>(i));
      if (n_local >= 100000) log().progress("kNN (approx): index insertions on rank 0", i + 1, n_local);
    }
    index->setEf(static_cast<size_t>(std::max(options.ef_search, k)));
  }
  const double* data = points.local.data();
  LocalSearch search = [&](int64_t n, const double* queries, const int64_t* ids, int others, double* best_dist2,
                           int64_t* best_ids) {
    if (!index) return;
    std::vector<float> q(static_cast<size_t>(padded), 0.0f);
    std::vector<double> cand_d2;
    for (int64_t i = 0; i < n; ++i) {
      for (int c = 0; c < dim; ++c) q[static_cast<size_t>(c)] = static_cast<float>(queries[i * dim + c]);
      // One more than needed: the query itself is among the answers when it lives here.
      auto found = index->searchKnn(q.data(), static_cast<size_t>(std::min<int64_t>(others + 1, n_local)));
      std::vector<int64_t> cand_ids;
      cand_ids.reserve(found.size());
      while (!found.empty()) {
        cand_ids.push_back(first + static_cast<int64_t>(found.top().second));
        found.pop();
      }
      for (int64_t id : cand_ids) {
        if (id == ids[i]) continue;
        // The same sum, in the same order, as the tile kernel: equal pairs give equal bits.
        const double* p = data + (id - first) * dim;
        double d2 = 0;
        for (int c = 0; c < dim; ++c) {
          const double diff = queries[i * dim + c] - p[c];
          d2 += diff * diff;
        }
        merge_candidate(d2, id, others, best_dist2 + i * others, best_ids + i * others);
      }
      if (n >= 100000) log().progress("kNN (approx): queries answered on rank 0", i + 1, n);
    }
  };
  std::vector<int64_t> ids(static_cast<size_t>(n_local));
  for (int64_t i = 0; i < n_local; ++i) ids[static_cast<size_t>(i)] = first + i;
  QueryLists lists;
  lists.points = points.local;
  lists.ids = std::move(ids);
  lists.dist2.resize(static_cast<size_t>(n_local * (k - 1)));
  lists.best.resize(static_cast<size_t>(n_local * (k - 1)));
  kernels::knn_lists_reset(n_local, k - 1, lists.dist2.data(), lists.best.data());
  ring_search(points.comm, dim, k - 1, lists, search);
  return graph_from_lists(lists, k);
}

}  // namespace velofield
