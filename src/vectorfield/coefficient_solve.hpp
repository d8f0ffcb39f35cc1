#pragma once
// The M-step of SparseVFC: solve (UᵀPU + λσ²K) C = UᵀPY for the coefficients C (M × D).
//
// velofield factors L = UᵀPU + λσ²K by Cholesky and solves L C = R: backward stable, so the error
// in C is that of an O(eps·||L||) change of L. dynamo's default 'drouin' solver instead solves the
// normal equations of that system, LᵀL C = Lᵀ R (L is symmetric: L² C = L R), with an LU: cond(L²)
// = cond(L)², which for the pancreas fits is close to 1/eps, so C (and through it f) moves visibly
// with the last bits of the input. The 'drouin' route is kept for parity studies.
#include <cstdint>
#include <vector>

#include "vectorfield/sparse_vfc_options.hpp"

namespace velofield {

struct CoefficientSolveReport {
  double rcond = 0;          // LAPACK's estimate of 1 / cond_1(L) (the squared system's is about rcond²)
  int jitter_steps = 0;      // times the diagonal was raised before L factored (0 normally)
  double jitter = 0;         // the diagonal shift finally added
};

// lhs: M × M row-major, upper triangle (row i, columns j >= i) significant; destroyed.
// rhs: M × D row-major. coef: M × D row-major, the solution.
CoefficientSolveReport solve_coefficients(CoefficientSolver solver, int64_t M, int64_t D, std::vector<double>& lhs,
                                          const std::vector<double>& rhs, std::vector<double>& coef);

}  // namespace velofield
