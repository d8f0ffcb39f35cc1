#include "vectorfield/coefficient_solve.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/lapack.hpp"
#include "core/log.hpp"

namespace velofield {

std::string solver_name(CoefficientSolver s) { return s == CoefficientSolver::cholesky ? "cholesky" : "drouin"; }

namespace {

// Row-major M × D ⇄ column-major M × D (LAPACK's right-hand sides).
std::vector<double> to_column_major(const std::vector<double>& a, int64_t rows, int64_t cols) {
  std::vector<double> out(a.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[static_cast<size_t>(j * rows + i)] = a[static_cast<size_t>(i * cols + j)];
  return out;
}
void from_column_major(const std::vector<double>& a, int64_t rows, int64_t cols, std::vector<double>& out) {
  out.resize(a.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[static_cast<size_t>(i * cols + j)] = a[static_cast<size_t>(j * rows + i)];
}

// The row-major upper triangle is LAPACK's column-major lower one ('L').
double one_norm(int64_t M, const std::vector<double>& a) {
  const char norm = '1', uplo = 'L';
  const int n = blas::as_blas_int(M);
  std::vector<double> work(static_cast<size_t>(M));
  return dlansy_(&norm, &uplo, &n, a.data(), &n, work.data(), 1, 1);
}

CoefficientSolveReport cholesky_solve(int64_t M, int64_t D, std::vector<double>& lhs, const std::vector<double>& rhs,
                                      std::vector<double>& coef) {
  CoefficientSolveReport report;
  const char uplo = 'L';
  const int n = blas::as_blas_int(M), nrhs = blas::as_blas_int(D);
  const double anorm = one_norm(M, lhs);
  // L is positive definite in exact arithmetic (K is, for distinct centres); when rounding makes it
  // numerically semidefinite, raise the diagonal by a few ulps of its scale until it factors.
  double max_diag = 0;
  for (int64_t i = 0; i < M; ++i) max_diag = std::max(max_diag, lhs[static_cast<size_t>(i * M + i)]);
  std::vector<double> original;
  int info = 0;
  for (;;) {
    if (report.jitter_steps > 0) {
      if (original.empty()) throw Error("internal: Cholesky retry without a saved matrix");
      lhs = original;
      for (int64_t i = 0; i < M; ++i) lhs[static_cast<size_t>(i * M + i)] += report.jitter;
    } else {
      original = lhs;
    }
    dpotrf_(&uplo, &n, lhs.data(), &n, &info, 1);
    if (info == 0) break;
    if (info < 0) throw Error("internal: dpotrf argument " + std::to_string(-info) + " is invalid");
    if (report.jitter_steps == 12)
      throw Error(cat("SparseVFC: the M-step matrix UᵀPU + λσ²K is not positive definite even after raising its "
                      "diagonal by ", report.jitter, " (control points nearly coincide?)"));
    report.jitter_steps++;
    report.jitter = max_diag * 1e-15 * std::pow(10.0, report.jitter_steps - 1);
  }
  if (report.jitter_steps > 0)
    log().warn(cat("SparseVFC: the M-step matrix was numerically semidefinite; its diagonal was raised by ",
                   report.jitter, " (", report.jitter_steps, " tries)"));
  std::vector<double> work(static_cast<size_t>(3 * M));
  std::vector<int> iwork(static_cast<size_t>(M));
  dpocon_(&uplo, &n, lhs.data(), &n, &anorm, &report.rcond, work.data(), iwork.data(), &info, 1);
  std::vector<double> b = to_column_major(rhs, M, D);
  dpotrs_(&uplo, &n, &nrhs, lhs.data(), &n, b.data(), &n, &info, 1);
  if (info != 0) throw Error("internal: dpotrs failed with info " + std::to_string(info));
  from_column_major(b, M, D, coef);
  return report;
}

// dynamo's 'drouin': (LᵀL) C = Lᵀ R by LU with partial pivoting.
CoefficientSolveReport drouin_solve(int64_t M, int64_t D, std::vector<double>& lhs, const std::vector<double>& rhs,
                                    std::vector<double>& coef) {
  CoefficientSolveReport report;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < i; ++j) lhs[static_cast<size_t>(i * M + j)] = lhs[static_cast<size_t>(j * M + i)];
  {
    // rcond of L itself, for the report (a Cholesky on a copy; skipped if L is not definite).
    std::vector<double> copy = lhs;
    const char uplo = 'L';
    const int n = blas::as_blas_int(M);
    const double anorm = one_norm(M, copy);
    int info = 0;
    dpotrf_(&uplo, &n, copy.data(), &n, &info, 1);
    if (info == 0) {
      std::vector<double> work(static_cast<size_t>(3 * M));
      std::vector<int> iwork(static_cast<size_t>(M));
      dpocon_(&uplo, &n, copy.data(), &n, &anorm, &report.rcond, work.data(), iwork.data(), &info, 1);
    }
  }
  std::vector<double> lhs2(static_cast<size_t>(M * M)), rhs2(static_cast<size_t>(M * D));
  blas::gemm_rowmajor(true, false, M, M, M, 1.0, lhs.data(), M, lhs.data(), M, 0.0, lhs2.data(), M);
  blas::gemm_rowmajor(true, false, M, D, M, 1.0, lhs.data(), M, rhs.data(), D, 0.0, rhs2.data(), D);
  // Column-major LᵀL is the transpose of the row-major one: itself, it is symmetric.
  std::vector<double> b = to_column_major(rhs2, M, D);
  std::vector<int> ipiv(static_cast<size_t>(M));
  const int n = blas::as_blas_int(M), nrhs = blas::as_blas_int(D);
  int info = 0;
  dgesv_(&n, &nrhs, lhs2.data(), &n, ipiv.data(), b.data(), &n, &info);
  if (info != 0) throw Error("SparseVFC (drouin solver): the squared M-step system is singular (dgesv info " + std::to_string(info) + ")");
  from_column_major(b, M, D, coef);
  return report;
}

}  // namespace

CoefficientSolveReport solve_coefficients(CoefficientSolver solver, int64_t M, int64_t D, std::vector<double>& lhs,
                                          const std::vector<double>& rhs, std::vector<double>& coef) {
  return solver == CoefficientSolver::cholesky ? cholesky_solve(M, D, lhs, rhs, coef)
                                                : drouin_solve(M, D, lhs, rhs, coef);
}

}  // namespace velofield
