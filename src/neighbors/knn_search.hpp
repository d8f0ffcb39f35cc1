#pragma once
// kNN methods by name (exact, approx) and the `auto` rule between them, plus the recall check of
// an approximate search against the exact one on a sample of cells.
#include <functional>
#include <map>
#include <string>

#include "neighbors/approx_knn.hpp"
#include "neighbors/knn_graph.hpp"

namespace velofield {

struct KnnOptions {
  int k = 30;                        // including the cell itself
  std::string method = "auto";       // a name in knn_methods(), or auto
  int64_t exact_max_cells = 50000;   // auto: exact up to this many cells, approx above
  HnswOptions hnsw;
};

struct KnnResult {
  KnnGraph graph;
  std::string method;                // the method that ran
  double recall = -1;                // approx with a sample: mean fraction of the exact k-1 others found
  int64_t recall_cells = 0;
  int ef = 0;                        // approx: the search list used
};

// A method fills result.graph (and, if it measures them, recall, recall_cells, ef).
using KnnMethod = std::function<void(const KnnPoints&, const KnnOptions&, KnnResult&)>;
// The registry: adding a method is adding its file and one line in knn_search.cpp.
const std::map<std::string, KnnMethod>& knn_methods();
std::string knn_method_names();      // "approx, exact" for help and messages

// Collective. Runs the chosen method.
KnnResult nearest_neighbors(const KnnPoints& points, const KnnOptions& options);

}  // namespace velofield
