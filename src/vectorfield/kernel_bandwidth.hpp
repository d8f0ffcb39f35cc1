#pragma once
// dynamo's kernel bandwidth for SparseVFC (bandwidth_selector): over the control points only,
// dbar = the mean Euclidean distance from each control point to its n_b - 1 nearest other
// control points, n_b = max(2, floor(0.2 M)); h = sqrt(2) dbar / 1.5 and beta = 1 / h².
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace velofield {

// Collective: the control points' rows are split over the ranks and the per-row sums gathered in
// row order, so beta is bit-identical at any rank count. Exact neighbours (O(M² dim)).
double kernel_bandwidth_beta(MPI_Comm comm, const std::vector<double>& ctrl, int64_t M, int64_t dim);

}  // namespace velofield
