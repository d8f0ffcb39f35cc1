#pragma once
// The parameters of SparseVFC (Ma et al. 2013) as dynamo's VectorField gives them effect, plus
// velofield's own: the M-step solver and the memory the kernel blocks may keep.
#include <cstdint>
#include <string>

namespace velofield {

enum class CoefficientSolver {
  cholesky,   // Cholesky of L = UᵀPU + λσ²K: L C = R (velofield's default, stable)
  drouin      // dynamo's 'drouin': the squared normal equations L² C = L R by LU (for parity studies)
};

struct SparseVfcOptions {
  int64_t M = 100;            // control points
  double a = 5;               // outlier model: uniform density 1/a
  double beta = 0;            // kernel exp(-beta ||x - y||²); 0: dynamo's bandwidth rule
  double ecr = 1e-5;          // stop when the energy's relative change falls to this
  double gamma = 0.9;         // initial inlier fraction
  double lambda = 3;          // regularisation (dynamo's lambda_)
  double minP = 1e-5;         // floor of the posterior in the M-step
  int64_t MaxIter = 30;       // dynamo's VectorField default (SparseVFC's own is 500)
  double theta = 0.75;        // inlier threshold of the posterior
  uint64_t seed = 0;          // control-point sampling
  CoefficientSolver solver = CoefficientSolver::cholesky;
  // Bytes per rank the kernel block U (cells × M) may keep between EM iterations; beyond that
  // its chunks are recomputed on every pass instead (U is never needed whole).
  double kernel_cache_bytes = 4.0 * (1 << 30);
};

std::string solver_name(CoefficientSolver s);

}  // namespace velofield
