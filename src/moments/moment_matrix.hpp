#pragma once
// dynamo's moment connectivity matrix W (obsp/moments_con): only the sparsity pattern of the
// symmetric fuzzy graph is used, the diagonal is set, and every row is uniform over the cell and
// its graph neighbours: W_ij = 1 / (1 + deg_i), stored in float32 (the single-precision value of
// the fraction, as dynamo stores it).
#include <mpi.h>

#include "data/dist_matrix.hpp"

namespace velofield {

// Collective. From the connectivities (any stored entry with a nonzero value is an edge; a
// stored diagonal entry is not counted twice).
DistMatrix moment_matrix(MPI_Comm comm, const DistMatrix& connectivities);

}  // namespace velofield
