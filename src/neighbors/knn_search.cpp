#include "neighbors/knn_search.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/log.hpp"
#include "neighbors/exact_knn.hpp"

namespace velofield {

const std::map<std::string, KnnMethod>& knn_methods() {
  static const std::map<std::string, KnnMethod> methods = {
      {"exact", [](const KnnPoints& p, const KnnOptions& o) { return exact_knn(p, o.k); }},
      {"approx", [](const KnnPoints& p, const KnnOptions& o) { return approx_knn(p, o.k, o.hnsw); }},
  };
  return methods;
}

std::string knn_method_names() {
  std::string s;
  for (const auto& m : knn_methods()) s += (s.empty() ? "" : ", ") + m.first;
  return s;
}

std::pair<double, int64_t> knn_recall(const KnnPoints& points, const KnnGraph& graph, int64_t sample) {
  const int64_t n = points.partition.total;
  sample = std::min(sample, n);
  const int k = graph.k;
  if (sample <= 0 || k < 2) return {-1, 0};
  const int64_t first = points.first(), last = first + points.n_local();
  std::vector<double> qpoints;
  std::vector<int64_t> qids, rows;
  for (int64_t s = 0; s < sample; ++s) {
    const int64_t g = s * n / sample;
    if (g < first || g >= last) continue;
    rows.push_back(g - first);
    qids.push_back(g);
    qpoints.insert(qpoints.end(), points.local.begin() + (g - first) * points.dim,
                   points.local.begin() + (g - first + 1) * points.dim);
  }
  const QueryLists exact = exact_lists_for(points, k, std::move(qpoints), qids);
  double found[2] = {0, 0};
  for (size_t q = 0; q < rows.size(); ++q) {
    std::vector<int64_t> truth(exact.best.begin() + static_cast<int64_t>(q) * (k - 1),
                               exact.best.begin() + static_cast<int64_t>(q + 1) * (k - 1));
    std::sort(truth.begin(), truth.end());
    for (int j = 1; j < k; ++j) {
      const int64_t id = graph.ids[static_cast<size_t>(rows[q] * k + j)];
      found[0] += std::binary_search(truth.begin(), truth.end(), id) ? 1 : 0;
    }
    found[1] += k - 1;
  }
  MPI_Allreduce(MPI_IN_PLACE, found, 2, MPI_DOUBLE, MPI_SUM, points.comm);
  return {found[1] > 0 ? found[0] / found[1] : -1, sample};
}

KnnResult nearest_neighbors(const KnnPoints& points, const KnnOptions& options) {
  KnnResult result;
  result.method = options.method;
  if (result.method == "auto") result.method = points.partition.total <= options.exact_max_cells ? "exact" : "approx";
  const auto it = knn_methods().find(result.method);
  if (it == knn_methods().end())
    throw Error("--knn: unknown kNN method '" + options.method + "' (known: auto, " + knn_method_names() + ")");
  result.graph = it->second(points, options);
  if (result.method != "exact" && options.recall_sample > 0) {
    const auto [recall, cells] = knn_recall(points, result.graph, options.recall_sample);
    result.recall = recall;
    result.recall_cells = cells;
    log().info(cat("kNN (", result.method, "): recall@", options.k - 1, " of the other neighbours against exact search on ",
                   cells, " cells: ", recall));
  }
  return result;
}

}  // namespace velofield
