#pragma once
// UMAP's fuzzy simplicial set over a kNN graph (umap-learn defaults: local_connectivity 1,
// bandwidth 1, set_op_mix_ratio 1), as dynamo's moments and reduceDimension build it:
//   rho_i   = distance to the nearest other cell at a nonzero distance;
//   sigma_i = the scale at which sum_{j != i} exp(-max(0, d_ij - rho_i) / sigma_i) = log2(k),
//             by 64 steps of bisection, floored at 1e-3 × the mean distance;
//   a_ij    = exp(-max(0, d_ij - rho_i) / sigma_i), 0 on the diagonal (directed);
//   A       = a + aᵀ - a ∘ aᵀ (fuzzy union, symmetric).
// Computed in single precision like umap-learn, so that an edge whose membership underflows
// drops out exactly where it does there.
#include <mpi.h>

#include <vector>

#include "data/dist_matrix.hpp"
#include "neighbors/knn_graph.hpp"

namespace velofield {

struct SmoothKnn {
  std::vector<float> sigma, rho;   // per local cell
};

// Collective (the global mean of the kNN distances is the floor's fallback).
SmoothKnn smooth_knn_dist(MPI_Comm comm, const KnnGraph& knn);

// Collective. The symmetric fuzzy graph A as a cell × cell PETSc matrix (float32 values; the
// diagonal and exact zeros are not stored).
DistMatrix fuzzy_union_graph(MPI_Comm comm, const KnnGraph& knn, const SmoothKnn& smooth, int64_t n_obs);

// Collective. The directed kNN distances without the cell itself (dynamo's and scanpy's
// obsp['distances']); a duplicate cell at distance 0 is kept as an explicit 0.
DistMatrix knn_distance_matrix(MPI_Comm comm, const KnnGraph& knn, int64_t n_obs);

}  // namespace velofield
