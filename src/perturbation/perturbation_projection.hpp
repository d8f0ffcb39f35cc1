#pragma once
// The perturbation response δy (PCA space) projected onto an embedding with the transition kernels
// of cell_velocities (pearson / cosine / correlation over the kNN-bounded 2-hop neighbourhood,
// transition/transition_matrix.hpp), positions X_pca and velocities δy in place of M_s and
// velocity_S, then dynamo's density-corrected projection (transition/embedding_velocity.hpp) and
// grid (transition/grid_velocity.hpp).
//
// dynamo projects with its 'fp' kernel (spec 4.8, 7 step 8), which builds dense N × N arrays
// (discrete_vector_field, fp_transition_rate): 109 MB each at 3696 cells, infeasible past
// ~30k cells. Here T has the sparsity of the 2-hop kNN neighbourhoods and is built distributed, so
// the result differs from dynamo's by design (another kernel), not by accident.
#include <cstdint>
#include <string>

#include "data/dataset.hpp"
#include "transition/transition_matrix.hpp"

namespace velofield {

struct PerturbationProjection {
  DistMatrix transition;   // obsp perturbation_transition_matrix
  DenseArray velocity;     // obsm velocity_<emb>_perturbation (rank's rows)
  UnsNode grid;            // uns grid_velocity_<emb>_perturbation (empty dict when no cell is finite)
  TransitionMatrixReport report;
};

// Collective. x_pca and delta_y: the rank's rows (rows × dim); embedding: the rank's rows of
// obsm X_<emb> (finite). options.graph names the kNN obsp of `d`, which is lent to the kernel and
// returned (d.obsp is unchanged afterwards, also when it throws).
PerturbationProjection project_perturbation(Dataset& d, const std::vector<double>& x_pca, const std::vector<double>& delta_y,
                                            int64_t dim, const DenseArray& embedding, TransitionMatrixOptions options,
                                            bool correct_density, int64_t grid_points);

}  // namespace velofield
