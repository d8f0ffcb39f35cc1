#pragma once
// Per-cell Jacobians of a SparseVFC field, J(x) = −2β Σ_m k_m(x) C_m (x − c_m)ᵀ (spec 5.8), for a
// rank's cells in chunks, as two GEMMs per chunk instead of a loop over control points per cell:
//   J(x_i) = −2β (f_i x_iᵀ − Σ_m U_im C_m c_mᵀ),  f_i = Σ_m U_im C_m,
// with U the chunk's kernel block (vectorfield/kernel_blocks.hpp, coordinates centred on the
// control points) and the M × dim² table B_m = vec(C_m c_mᵀ) built once. A chunk's Jacobians are
// handed to the caller and dropped: the dim × dim × N tensor is never held (7 GB at 1M cells, d = 30).
#include <cstdint>
#include <functional>
#include <vector>

#include "vectorfield/fitted_field.hpp"

namespace velofield {

// on_chunk(first_row, rows, jacobians): jacobians is rows × dim × dim, row p = output component.
void for_each_jacobian_chunk(const FittedField& field, int64_t rows, const double* x,
                             const std::function<void(int64_t, int64_t, const double*)>& on_chunk);

// det of a row-major n × n matrix (LU with partial pivoting on a copy).
double determinant(int64_t n, const double* a);

}  // namespace velofield
