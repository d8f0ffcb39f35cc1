#include "neighbors/graph_keys.hpp"

#include "core/error.hpp"

namespace velofield {

std::vector<StageKey> neighbor_graph_keys() {
  return {
      {"basis", "X_pca", "obsm embedding the neighbours are searched in"},
      {"n_pca_components", "30", "leading columns of the basis used (all when it has fewer)"},
      {"n_neighbors", "30", "neighbours per cell, the cell itself included (dynamo's count)"},
      {"knn", "auto", "kNN method: exact (tiled brute force), approx (HNSW), or auto (exact up to exact_max_cells)"},
      {"exact_max_cells", "50000", "auto: largest number of cells searched exactly"},
      {"hnsw_M", "32", "approx: links per HNSW node"},
      {"hnsw_ef_construction", "200", "approx: candidate list size while building the index"},
      {"hnsw_ef", "0", "approx: candidate list size while searching; 0: tuned (from max(n_neighbors, 32), growing by "
                       "half) until the recall on recall_sample cells reaches target_recall"},
      {"hnsw_max_ef", "1024", "approx: largest candidate list the tuning tries"},
      {"target_recall", "0.98", "approx: recall of the other neighbours the tuning aims for"},
      {"recall_sample", "1000", "approx: cells whose neighbours are checked against an exact search (0: no tuning, no check)"},
      {"seed", "0", "random seed (HNSW level draws; UMAP initialisation noise and negative samples)"},
  };
}

std::string option_name(const StageConfig& sc, const std::string& key) {
  return sc.config().has(sc.section(), key) ? sc.config().where(sc.section(), key) : "--" + key;
}

int int_option(const StageConfig& sc, const std::string& key, long long minimum) {
  const long long v = sc.get_int(key);
  if (v < minimum || v > INT32_MAX)
    throw Error(option_name(sc, key) + ": must be an integer >= " + std::to_string(minimum) + ", found " + std::to_string(v));
  return static_cast<int>(v);
}

NeighborGraphOptions neighbor_graph_options(const StageConfig& sc) {
  NeighborGraphOptions o;
  o.basis = sc.get_string("basis");
  o.n_pcs = int_option(sc, "n_pca_components", 1);
  o.knn.k = int_option(sc, "n_neighbors", 1);
  o.knn.method = sc.get_string("knn");
  if (o.knn.method != "auto" && !knn_methods().count(o.knn.method))
    throw Error(option_name(sc, "knn") + ": unknown kNN method '" + o.knn.method + "' (known: auto, " + knn_method_names() + ")");
  o.knn.exact_max_cells = sc.get_int("exact_max_cells");
  o.knn.hnsw.m = int_option(sc, "hnsw_M", 2);
  o.knn.hnsw.ef_construction = int_option(sc, "hnsw_ef_construction", 1);
  o.knn.hnsw.ef_search = int_option(sc, "hnsw_ef", 0);
  o.knn.hnsw.max_ef = int_option(sc, "hnsw_max_ef", 1);
  o.knn.hnsw.target_recall = sc.get_double("target_recall");
  if (!(o.knn.hnsw.target_recall > 0 && o.knn.hnsw.target_recall <= 1))
    throw Error(option_name(sc, "target_recall") + ": must be in (0, 1]");
  o.knn.hnsw.sample = int_option(sc, "recall_sample", 0);
  o.knn.hnsw.seed = static_cast<uint64_t>(sc.get_int("seed"));
  return o;
}

}  // namespace velofield
