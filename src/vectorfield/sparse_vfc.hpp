#pragma once
// SparseVFC (Ma, Zhao, Tian, Tu & Yuille 2013, "Regularized vector field learning with sparse
// approximation for mismatch removal"): an EM fit of f(x) = Σ_m exp(-beta ||x - c_m||²) C_m to
// noisy velocities with a uniform outlier model, distributed by cells. Each rank streams over its
// kernel block U (cells × M); only M × M and M × D objects (UᵀPU, UᵀPY) and a few scalars are
// all-reduced, and the M × M solve is replicated.
//
// The result is the same bits at any rank count (and BLAS thread count) when the cells are laid
// out by FitLayout (fit_layout.hpp) and `blocks` uses its chunk length: every sum over cells is
// made of per-chunk partials combined independently of their order.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "vectorfield/coefficient_solve.hpp"
#include "vectorfield/control_points.hpp"
#include "vectorfield/kernel_blocks.hpp"
#include "vectorfield/sparse_vfc_options.hpp"

namespace velofield {

// This rank's cells.
struct SparseVfcData {
  int64_t rows = 0, dim = 0;
  const double* x = nullptr;       // rows × dim, finite
  const double* y = nullptr;       // rows × dim, the velocities (used where valid)
  const uint8_t* valid = nullptr;  // rows: 1 where the velocity row is finite (fitted), 0 elsewhere
};

struct SparseVfcFit {
  std::vector<double> coef;              // C, M × dim
  double sigma2 = 0, gamma = 0;
  int64_t iterations = 0;                // EM iterations run (dynamo stores this minus 1 as `iteration`)
  std::vector<double> energy;            // dynamo's E_traj
  std::vector<double> energy_change;     // dynamo's tecr_traj
  bool converged = false;                // the energy change fell to ecr before MaxIter
  CoefficientSolveReport last_solve;
  std::vector<double> P;                 // local rows: posterior (floored at minP) where valid, NaN elsewhere
  std::vector<double> V;                 // local rows × dim: f(x_i) for every local row
  int64_t n_valid = 0;                   // fitted cells, all ranks
  std::vector<double> iteration_seconds;       // wall, max over ranks
  std::vector<double> iteration_cpu_seconds;   // this process's CPU time, max over ranks (robust to a shared machine)
};

// Collective. `blocks` holds this rank's U for the control points and beta of the fit.
SparseVfcFit fit_sparse_vfc(MPI_Comm comm, const SparseVfcData& data, const ControlPoints& ctrl, KernelBlocks& blocks,
                            const SparseVfcOptions& options);

// The mean cosine similarity between the velocities and the fit over the fitted cells (dynamo's
// restart criterion, each row divided by its norm + 1e-20), summed in chunk order. Collective.
double mean_velocity_cosine(MPI_Comm comm, const SparseVfcData& data, const std::vector<double>& V,
                            const KernelBlocks& blocks);

}  // namespace velofield
