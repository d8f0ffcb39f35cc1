#pragma once
// The arithmetic of `compare-velocity`, on the rank's rows of each method's velocity (no MPI except
// the per-gene and per-summary reductions, which are exact so that nothing depends on the rank count):
//  - comparison genes: the genes every method has a velocity for (finite in every cell and not zero
//    in every cell; dynamo leaves unfitted genes NaN, cellDancer and the CSR layouts leave them 0);
//  - per-gene scale s_mg = the root mean square of method m's velocity of gene g over all cells;
//  - per-cell agreement: the mean over method pairs of the cosine of their velocities projected to
//    PCA space (obsm velocity_pca of each method);
//  - the consensus: v_ig = Σ_m w_mi · v_mig / s_mg  /  Σ_m w_mi over the comparison genes, where
//    w_mi = max(0, mean over the other methods n of cos(p_mi, p_ni)) — a method is trusted in a cell
//    as much as it agrees with the others there (equal weights where no method agrees with any).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/matrix.hpp"

namespace velofield {

// Collective. 1 for the genes every velocity (rank's rows, same columns) has: finite in every cell
// and (require_nonzero) nonzero in at least one.
std::vector<uint8_t> comparison_genes(MPI_Comm comm, const std::vector<const Matrix*>& velocities, bool require_nonzero = true);

// Collective. The root mean square over all `n_obs` cells of each gene of `velocity` (0 where the
// gene is not compared). Exact sums (values scaled by the gene's largest |v| into [0, 1]), so the
// scale is the same at any rank count.
std::vector<double> gene_rms(MPI_Comm comm, int64_t n_obs, const Matrix& velocity, const std::vector<uint8_t>& genes);

// cos(a, b) of the rank's rows of two projected velocities (same shape), one per cell: sklearn's
// convention (0 for a zero or non-finite vector), clamped to [-1, 1]. Identical rows give exactly 1,
// a row and its negation exactly -1.
std::vector<double> row_cosines(const DenseArray& a, const DenseArray& b);

struct AgreementResult {
  std::vector<double> per_cell;                 // rank's cells: mean pairwise cosine over method pairs
  std::vector<double> matrix;                   // methods × methods: median per-cell cosine (diagonal 1)
  std::vector<double> mean_matrix;              // methods × methods: mean per-cell cosine
  std::vector<std::vector<double>> weights;     // [method][local cell]: consensus weight w_mi
};

// Collective. `projected`: each method's rank rows of its PCA-space velocity (at least 2 methods).
AgreementResult velocity_agreement(MPI_Comm comm, const std::vector<const DenseArray*>& projected);

// The consensus velocity over the rank's rows: dense float32, n_local × genes, 0 outside `genes`.
DenseArray consensus_velocity(const std::vector<const Matrix*>& velocities, const std::vector<std::vector<double>>& scales,
                              const std::vector<std::vector<double>>& weights, const std::vector<uint8_t>& genes);

}  // namespace velofield
