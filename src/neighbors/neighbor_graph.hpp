#pragma once
// The neighbour graph of a Dataset, as dynamo's moments builds it: the kNN of every cell in the
// first n_pcs columns of an embedding (obsm/X_pca by default), and UMAP's fuzzy connectivities.
// Shared by the moments and umap stages.
#include <string>

#include "data/dataset.hpp"
#include "neighbors/knn_search.hpp"

namespace velofield {

struct NeighborGraphOptions {
  std::string basis = "X_pca";     // obsm key
  int n_pcs = 30;                  // leading columns used (all when the basis has fewer)
  KnnOptions knn;
  std::string option_prefix = "--";   // how options are named in messages ("--", "--moments.")
};

struct NeighborGraph {
  KnnResult knn;                   // method and recall (the lists themselves are in the matrices)
  int n_pcs = 0;                   // columns actually used
  DistMatrix connectivities;       // symmetric fuzzy graph (float32)
  DistMatrix distances;            // directed kNN distances without self
};

// Collective. The basis as kNN input, after the checks every rank agrees on: the slot exists and
// is dense, it is finite, and k < number of cells. Errors name the file, the slot and the fix.
KnnPoints knn_points_from(const Dataset& dataset, const NeighborGraphOptions& options, int& n_pcs_used);

// Collective. kNN search and fuzzy connectivities.
NeighborGraph build_neighbor_graph(const Dataset& dataset, const NeighborGraphOptions& options);

// Writes obsp/connectivities, obsp/distances and uns/neighbors (parameters, like scanpy's).
void store_neighbor_graph(Dataset& dataset, NeighborGraph& graph, const NeighborGraphOptions& options);

// Whether obsp/connectivities exists and uns/neighbors/params say it was built from the same
// basis, n_pcs and n_neighbors (so a later stage can reuse it).
bool stored_graph_matches(const Dataset& dataset, const NeighborGraphOptions& options);

}  // namespace velofield
