#pragma once
// Centred PCA of a cell-distributed sparse matrix restricted to some genes, without densifying it
// or centring it in memory: the top eigenpairs of the genes × genes covariance C = (A − 1μᵀ)ᵀ(A − 1μᵀ)/N.
//
// Two ways to apply C, chosen by size (solver "auto"):
// - "gram": each rank densifies its rows in blocks (centred), accumulates DᵀD with BLAS dsyrk, the
//   G×G sums are reduced once; C is then applied by dsymm. Cost ~ N·G² per rank, memory G²: the
//   fastest for a few thousand genes and cells in the thousands to ~10^5 per rank.
// - "krylov": C is applied straight from the sparse rows, Aᵀ(A X − 1(μᵀX)) − μ(1ᵀ…), one pass over
//   the rank's nonzeros and one reduction of G × block values per application. Cost ~ nnz·block per
//   application, memory O(G·basis): the choice for many cells or many genes.
// Both feed the same block Krylov eigensolver (block_krylov.hpp), so they give the same answer to
// its tolerance. Signs follow sklearn's svd_flip on U (the largest-|.| score of each component is
// made positive), as dynamo's PCA does.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/matrix.hpp"

namespace velofield::preprocess {

struct PcaOptions {
  int n_components = 30;
  std::string solver = "auto";   // auto | gram | krylov
  uint64_t seed = 0;
  int block = 8;                 // vectors per operator application (8 or 16 are specialised)
  double tol = 1e-10;         // eigen-residual relative to the top eigenvalue (block_krylov.hpp)
};

struct PcaResult {
  DenseArray x_pca;                          // the rank's rows × n_components, float64
  std::vector<double> components;            // genes × n_components, row-major (dynamo's uns PCs)
  std::vector<double> mean;                  // per gene (pca_mean)
  std::vector<double> explained_variance;    // population variance of each X_pca column
  std::vector<double> explained_variance_ratio;
  double total_variance = 0;                 // sum of the genes' population variances
  std::string solver;                        // the one that ran
  int applies = 0;                           // operator applications (blocks of vectors)
  double relative_residual = 0;
};

// Which solver "auto" picks for this size (rank-local estimate, agreed by the caller's ranks).
std::string choose_pca_solver(int64_t n_obs_local_max, int64_t nnz_local_max, int64_t n_genes, int n_components);

// Collective. `X`: the rank's rows; `genes`: the columns to use (sorted), each with a nonzero sum.
PcaResult centered_pca(MPI_Comm comm, int64_t n_obs, const CsrMatrix& X, const std::vector<int64_t>& genes,
                       const PcaOptions& options);

// Sum over ranks with the result bitwise identical on every rank (reduce to 0, then broadcast), so
// that replicated computations on it take the same path everywhere.
void reduce_sum_identical(MPI_Comm comm, double* values, int64_t count);

}  // namespace velofield::preprocess
