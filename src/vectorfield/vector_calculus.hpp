#pragma once
// Vector calculus of a fitted SparseVFC field at this rank's cells, analytic (no finite
// differences) and without forming a Jacobian per cell: with the kernel block U of a chunk at
// hand, the divergence tr J and the acceleration J·f are two GEMMs and an O(cells · M) pass
// (kokkos_kernels/rkhs_block_calculus.hpp). Curl (2-D, 3-D) uses the per-cell Jacobian, d² ≤ 9.
#include <cstdint>
#include <vector>

#include "vectorfield/kernel_blocks.hpp"

namespace velofield {

struct CellCalculus {
  std::vector<double> divergence;      // rows: tr J(x_i)
  std::vector<double> acceleration;    // rows × dim: J(x_i) f(x_i)
  std::vector<double> curvature;       // rows × dim: (a (v·v) - v (v·a)) / |v|⁴ (dynamo's formula 2), NaN where v = 0
  std::vector<double> curl;            // 2-D: rows (∂f_y/∂x - ∂f_x/∂y); 3-D: rows × 3; other dims: empty
};

// values: f at the rows (rows × dim, e.g. the fit's V). Local; no communication.
CellCalculus vector_calculus_at_cells(KernelBlocks& blocks, const std::vector<double>& coef,
                                      const std::vector<double>& values);

// |row| for each row of a rows × dim array.
std::vector<double> row_norms(const std::vector<double>& a, int64_t dim);

}  // namespace velofield
