#pragma once
// Blocks of the Gaussian kernel matrix U(i, m) = exp(-beta ||x_i - c_m||^2) between a chunk of
// cells and the control points of SparseVFC (and, with x = c, the control points' Gram matrix K).
// Kokkos-free entry points; the functors are in gaussian_kernel_block_functor.hpp. All matrices
// are row-major.
#include <cstdint>

namespace velofield::kernels {

// u (rows × centres) from x (rows × dim) and c (centres × dim), distances summed directly: exact
// to rounding however far the points lie from the origin; dim multiply-adds per entry.
void gaussian_kernel_block(int64_t rows, int64_t centres, int64_t dim, const double* x, const double* c, double beta,
                           double* u);

// In place, for large dim where the inner products come from a GEMM: on entry g(i, m) = x_i·c_m,
// on exit exp(-beta · max(0, x_sq_i + c_sq_m - 2 g(i, m))), with x_sq/c_sq the squared norms.
// The expansion loses about eps·beta·||x||² in the exponent, so callers centre x and c first.
void gaussian_kernel_from_inner_products(int64_t rows, int64_t centres, const double* x_sq, const double* c_sq,
                                         double beta, double* g);

// out(i, j) = w_i · a(i, j) for a rows × cols block with row strides lda and ldo (the weighted copy
// √P·U that a SYRK turns into UᵀPU, written into the first columns of a wider block). out may
// alias a when the strides are equal.
void scale_rows(int64_t rows, int64_t cols, const double* w, const double* a, int64_t lda, double* out, int64_t ldo);

}  // namespace velofield::kernels
