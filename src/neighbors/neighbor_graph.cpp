#include "neighbors/neighbor_graph.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"
#include "neighbors/fuzzy_graph.hpp"

namespace velofield {

namespace {

std::string obsm_keys(const Dataset& d) {
  std::string s;
  for (const auto& kv : d.obsm) s += (s.empty() ? "" : ", ") + kv.first;
  return s.empty() ? "none" : s;
}

const UnsNode* child(const UnsNode& node, const std::string& key) {
  auto it = node.children.find(key);
  return it == node.children.end() ? nullptr : &it->second;
}

double numeric_of(const UnsNode* node) {
  if (!node || node->kind != UnsNode::Kind::numeric || node->array.values.size() != 1) return std::nan("");
  return node->array.values.as_double(0);
}

}  // namespace

KnnPoints knn_points_from(const Dataset& dataset, const NeighborGraphOptions& options, int& n_pcs_used) {
  const std::string slot = "obsm/" + options.basis;
  // obsm keys and shapes are the same on every rank, but a rank without cells has nothing to
  // check values on, so every check ends in an agreement.
  const DenseArray* basis = nullptr;
  agree_on(dataset.comm, [&] {
    auto it = dataset.obsm.find(options.basis);
    if (it == dataset.obsm.end())
      fail(dataset.source, slot,
           "not present (this file has obsm: " + obsm_keys(dataset) + "); run preprocess first for X_pca, or name another "
           "embedding with " + options.option_prefix + "basis");
    if (!std::holds_alternative<DenseArray>(it->second)) fail(dataset.source, slot, "expected a dense cells × components array, found a sparse one");
    basis = &std::get<DenseArray>(it->second);
    if (basis->shape.size() != 2 || basis->rows() != dataset.n_obs_local || basis->row_stride() < 1)
      fail(dataset.source, slot, "expected a 2-D cells × components array");
  });
  const int64_t cols = basis->row_stride();
  n_pcs_used = static_cast<int>(std::min<int64_t>(cols, options.n_pcs));
  agree(dataset.comm, options.n_pcs >= 1, describe("", options.option_prefix + "n_pcs", "must be at least 1"));
  const int k = options.knn.k;
  agree(dataset.comm, k >= 2,
        describe(dataset.source, options.option_prefix + "n_neighbors",
                 std::to_string(k) + " is too small: the count includes the cell itself, so at least 2 are needed"));
  agree(dataset.comm, k < dataset.n_obs,
        describe(dataset.source, options.option_prefix + "n_neighbors",
                 std::to_string(k) + " neighbours (the cell itself included) need more than " + std::to_string(k) +
                     " cells, and this file has " + std::to_string(dataset.n_obs) + "; lower " + options.option_prefix +
                     "n_neighbors"));

  KnnPoints points;
  points.comm = dataset.comm;
  points.partition = dataset.partition();
  points.dim = n_pcs_used;
  points.local.resize(static_cast<size_t>(dataset.n_obs_local * n_pcs_used));
  int64_t bad[2] = {0, INT64_MAX};   // count, first global cell
  for (int64_t i = 0; i < dataset.n_obs_local; ++i) {
    for (int c = 0; c < n_pcs_used; ++c) {
      const double v = basis->values.as_double(static_cast<size_t>(i * cols + c));
      if (!std::isfinite(v)) {
        ++bad[0];
        bad[1] = std::min(bad[1], dataset.obs_begin + i);
      }
      points.local[static_cast<size_t>(i * n_pcs_used + c)] = v;
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, &bad[0], 1, MPI_INT64_T, MPI_SUM, dataset.comm);
  MPI_Allreduce(MPI_IN_PLACE, &bad[1], 1, MPI_INT64_T, MPI_MIN, dataset.comm);
  if (bad[0] > 0)
    fail(dataset.source, slot,
         std::to_string(bad[0]) + " NaN/Inf value(s) in the first " + std::to_string(n_pcs_used) + " columns (first in cell " +
             std::to_string(bad[1]) + "); neighbours need a finite embedding");
  return points;
}

NeighborGraph build_neighbor_graph(const Dataset& dataset, const NeighborGraphOptions& options) {
  NeighborGraph g;
  const KnnPoints points = knn_points_from(dataset, options, g.n_pcs);
  const double t0 = MPI_Wtime();
  g.knn = nearest_neighbors(points, options.knn);
  const double t1 = MPI_Wtime();
  const SmoothKnn smooth = smooth_knn_dist(dataset.comm, g.knn.graph);
  g.connectivities = fuzzy_union_graph(dataset.comm, g.knn.graph, smooth, dataset.n_obs);
  g.distances = knn_distance_matrix(dataset.comm, g.knn.graph, dataset.n_obs);
  // The lists now live in the two matrices; at atlas scale they are hundreds of MB per rank.
  std::vector<int64_t>().swap(g.knn.graph.ids);
  std::vector<double>().swap(g.knn.graph.distances);
  log().detail(cat("neighbour graph: kNN search ", t1 - t0, " s, fuzzy connectivities and distances ", MPI_Wtime() - t1, " s"));
  return g;
}

void store_neighbor_graph(Dataset& dataset, NeighborGraph& graph, const NeighborGraphOptions& options) {
  dataset.obsp["connectivities"] = std::move(graph.connectivities);
  dataset.obsp["distances"] = std::move(graph.distances);
  UnsNode params = UnsNode::dict();
  params["n_neighbors"] = UnsNode::scalar<int64_t>(options.knn.k);
  params["method"] = UnsNode::string("umap");
  params["knn_method"] = UnsNode::string(graph.knn.method);
  params["metric"] = UnsNode::string("euclidean");
  params["n_pcs"] = UnsNode::scalar<int64_t>(graph.n_pcs);
  params["use_rep"] = UnsNode::string(options.basis);
  if (graph.knn.recall >= 0) {
    params["recall"] = UnsNode::scalar<double>(graph.knn.recall);
    params["recall_cells"] = UnsNode::scalar<int64_t>(graph.knn.recall_cells);
    params["hnsw_ef"] = UnsNode::scalar<int64_t>(graph.knn.ef);
  }
  UnsNode neighbors = UnsNode::dict();
  neighbors["connectivities_key"] = UnsNode::string("connectivities");
  neighbors["distances_key"] = UnsNode::string("distances");
  neighbors["params"] = std::move(params);
  dataset.uns["neighbors"] = std::move(neighbors);
}

bool stored_graph_matches(const Dataset& dataset, const NeighborGraphOptions& options) {
  if (!dataset.obsp.count("connectivities")) return false;
  const UnsNode* neighbors = child(dataset.uns, "neighbors");
  const UnsNode* params = neighbors ? child(*neighbors, "params") : nullptr;
  if (!params) return false;
  const UnsNode* rep = child(*params, "use_rep");
  if (!rep || rep->kind != UnsNode::Kind::string || rep->text != options.basis) return false;
  if (numeric_of(child(*params, "n_neighbors")) != options.knn.k) return false;
  const auto basis = dataset.obsm.find(options.basis);
  if (basis == dataset.obsm.end()) return false;
  const int64_t cols = matrix_cols(basis->second);
  return numeric_of(child(*params, "n_pcs")) == static_cast<double>(std::min<int64_t>(cols, options.n_pcs));
}

}  // namespace velofield
