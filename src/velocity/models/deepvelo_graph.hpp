#pragma once
// DeepVelo's cell graph on this rank's rows, from a directed kNN distance graph (obsp/distances of
// the moments stage: each row's neighbours without the cell itself). As DeepVelo builds it:
// K(i) = the cell itself and its top_g − 1 nearest neighbours; the multigraph A = K + Kᵀ (the
// self-loop counted twice); GraphConv's norm "both": Â = D^{-1/2} A D^{-1/2}, D the degrees of A
// (clamped ≥ 1). The loss reads the top_c − 1 nearest neighbours (self excluded).
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "core/partition.hpp"

namespace velofield::models {

struct DeepveloGraph {
  int64_t n_local = 0;
  // Â's rows of this rank's cells, CSR over the columns [this rank's rows | halo rows].
  std::vector<int64_t> halo;   // global indices of the remote columns, ascending
  std::vector<int64_t> indptr, cols;
  std::vector<double> weights;
  // Loss neighbours: n_local × n_neighbors indices into [this rank's rows | loss_halo], a cell with
  // fewer neighbours padded with itself (a zero displacement, which the loss ignores).
  int64_t n_neighbors = 0;
  std::vector<int64_t> loss_halo;   // global indices, ascending
  std::vector<int64_t> neighbors;
};

// Collective. `knn_*`: this rank's rows of the distance graph, CSR with global column indices.
DeepveloGraph build_deepvelo_graph(MPI_Comm comm, const BlockPartition& cells, const std::vector<int64_t>& knn_indptr,
                                   const std::vector<int64_t>& knn_cols, const std::vector<double>& knn_distances,
                                   int64_t top_g, int64_t top_c);

}  // namespace velofield::models
