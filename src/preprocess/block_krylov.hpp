#pragma once
// The k largest eigenpairs of a symmetric positive semi-definite operator of size n (n small enough
// to keep a few hundred vectors of length n on every rank: genes, not cells), by thick-restart
// block Krylov with full reorthogonalisation and explicit Rayleigh–Ritz (LAPACK on the small
// projected matrix). The operator is applied to blocks of `block` vectors, so each application is
// one pass over the data however many vectors it carries, and the per-step work is BLAS 3.
//
// Every rank runs the same replicated arithmetic: `apply` must return bitwise-identical results on
// every rank (reduce + broadcast, not all-reduce), and then the iteration count, the convergence
// decision and the result are the same everywhere.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace velofield::preprocess {

struct TopEigenOptions {
  int k = 30;                 // wanted eigenpairs
  int block = 8;              // vectors per operator application
  int max_basis = 0;          // Krylov basis before a restart; 0 = max(8 k + 2 block, 8 block)
  double tol = 1e-10;         // converged when every ||A x - θ x|| <= tol · θ_max
  int max_restarts = 200;
  uint64_t seed = 0;          // start block: uniform(-1, 1) from a 64-bit Mersenne twister
};

struct TopEigenResult {
  std::vector<double> values;    // k, descending
  std::vector<double> vectors;   // n × k, column-major (column j is eigenvector j), unit norm
  int applies = 0;               // operator applications (blocks)
  int restarts = 0;
  double relative_residual = 0;  // max_j ||A x_j - θ_j x_j|| / θ_max
  bool converged = false;
};

// apply(X, b, Y): Y = A X for X of n × b, column-major (Y likewise).
using BlockOperator = std::function<void(const double* X, int b, double* Y)>;

// Collective only through `apply` (every rank calls it the same number of times).
TopEigenResult top_eigenpairs(int64_t n, const BlockOperator& apply, const TopEigenOptions& options);

// The same for an explicit symmetric n × n matrix (column-major, both triangles), by LAPACK dsyevr:
// used when n is too small for a Krylov basis to pay.
TopEigenResult top_eigenpairs_dense(int64_t n, std::vector<double> matrix, int k);

}  // namespace velofield::preprocess
