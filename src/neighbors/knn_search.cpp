#include "neighbors/knn_search.hpp"


#include "core/error.hpp"
#include "core/log.hpp"
#include "neighbors/exact_knn.hpp"

namespace velofield {

const std::map<std::string, KnnMethod>& knn_methods() {
  static const std::map<std::string, KnnMethod> methods = {
      {"exact", [](const KnnPoints& p, const KnnOptions& o, KnnResult& r) { r.graph = exact_knn(p, o.k); }},
      {"approx",
       [](const KnnPoints& p, const KnnOptions& o, KnnResult& r) {
         ApproxKnnReport report;
         r.graph = approx_knn(p, o.k, o.hnsw, &report);
         r.recall = report.recall;
         r.recall_cells = report.recall_cells;
         r.ef = report.ef;
       }},
  };
  return methods;
}

std::string knn_method_names() {
  std::string s;
  for (const auto& m : knn_methods()) s += (s.empty() ? "" : ", ") + m.first;
  return s;
}

KnnResult nearest_neighbors(const KnnPoints& points, const KnnOptions& options) {
  KnnResult result;
  result.method = options.method;
  if (result.method == "auto") result.method = points.partition.total <= options.exact_max_cells ? "exact" : "approx";
  const auto it = knn_methods().find(result.method);
  if (it == knn_methods().end())
    throw Error("--knn: unknown kNN method '" + options.method + "' (known: auto, " + knn_method_names() + ")");
  it->second(points, options, result);
  if (result.recall >= 0)
    log().info(cat("kNN (", result.method, "): recall of the ", options.k - 1, " other neighbours against exact search on ",
                   result.recall_cells, " cells: ", result.recall));
  return result;
}

}  // namespace velofield
