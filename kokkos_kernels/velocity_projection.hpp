#pragma once
// Projection of a transition matrix onto an embedding (dynamo's cell_velocities): for each cell i
// with stored row entries T_ij, dE_i = Σ_j T_ij u_ij − mean_j(T_ij) · Σ_j u_ij, where
// u_ij = (E_j − E_i) / ||E_j − E_i|| is the unit displacement in the embedding (0 when the two
// positions coincide) and the second term (correct_density) centres the weights. Kokkos-free
// header; the functor is in velocity_projection_functor.hpp.
#include <cstdint>

namespace velofield::kernels {

struct ProjectionInput {
  int64_t cells = 0, dim = 0, n_rows = 0;
  const double* embedding = nullptr;      // n_rows × dim: positions of every cell referenced
  const int64_t* cell_row = nullptr;      // cells: the row of `embedding` holding the cell itself
  const int64_t* offsets = nullptr;       // cells + 1: the stored entries of row i of T
  const int64_t* neighbor_row = nullptr;  // offsets[cells] rows of `embedding`
  const double* weights = nullptr;        // offsets[cells] values T_ij
};

// Writes cells × dim values. With correct_density, a cell with no stored entries gets NaN in
// every component (dynamo: the mean of an empty row is NaN); without it, 0.
void velocity_projection(const ProjectionInput& input, bool correct_density, double* projected);

}  // namespace velofield::kernels
