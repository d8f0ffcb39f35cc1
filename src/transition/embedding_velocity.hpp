#pragma once
// The velocity in an embedding (obsm['velocity_<basis>']) as dynamo projects a transition matrix:
// dE_i = Σ_j (T_ij − mean_i T) · (E_j − E_i) / ||E_j − E_i|| over the stored entries of row i
// (correct_density; without it the plain Σ_j T_ij u_ij). A cell whose row is empty gets NaN with
// the correction, as in dynamo. The positions of remote columns arrive by a halo exchange.
#include <cstdint>
#include <string>

#include "data/dataset.hpp"
#include "data/dist_matrix.hpp"

namespace velofield {

struct ProjectionReport {
  int64_t halo_rows = 0, bytes_received = 0;   // per rank
  int64_t undefined_cells = 0;                 // per rank: NaN rows (empty transition rows)
  double seconds = 0;
};

// Collective. `embedding`: the rank's rows of obsm[embedding_key] (finite; checked by the caller).
DenseArray embedding_velocity(const Dataset& dataset, const DistMatrix& transition, const DenseArray& embedding,
                              bool correct_density, ProjectionReport& report);

}  // namespace velofield
