#pragma once
// The elementwise steps of the vector calculus of a SparseVFC field over a chunk of cells whose
// kernel block U (rows × centres) is at hand, the rest being GEMMs done by the caller:
//   divergence  div_i = tr J(x_i) = -2 beta Σ_m U_im (C_m·x_i - C_m·c_m)
//   acceleration a_i = J(x_i) f_i = -2 beta Σ_m U_im (x_i·f_i - c_m·f_i) C_m
// so that with T1 = X Cᵀ and T2 = F X_ctrlᵀ (GEMMs) both cost O(rows · centres) here.
// Kokkos-free entry points; the functors are in rkhs_block_calculus_functor.hpp. Row-major.
#include <cstdint>

namespace velofield::kernels {

// div_i = -2 beta Σ_m u(i, m) (t1(i, m) - d_m), with t1 = X Cᵀ and d_m = C_m·c_m.
void rkhs_divergence_from_blocks(int64_t rows, int64_t centres, const double* u, const double* t1, const double* d,
                                 double beta, double* divergence);

// In place: t2(i, m) := u(i, m) (s_i - t2(i, m)), with t2 = F X_ctrlᵀ and s_i = x_i·f_i on entry;
// the acceleration is then -2 beta · t2 · C.
void rkhs_acceleration_weights(int64_t rows, int64_t centres, const double* u, const double* s, double* t2);

}  // namespace velofield::kernels
