#pragma once
// The spliced velocity of the steady-state models, velocity_S = beta·M_u - gamma·M_s with beta = 1,
// for the fitted genes. As dynamo stores it, a CSR layer over all genes in which the genes that were
// not fitted are implicit zeros; stored dense instead when most genes are fitted (a float32 value
// with its int32 column index takes twice the bytes of the value alone). A gene whose gamma is NaN
// gets NaN in every cell, as dynamo writes it (its velocity is undefined, not zero).
#include <cstdint>
#include <vector>

#include "data/matrix.hpp"

namespace velofield {

// Local rows. genes: var indices, ascending; gamma: one per gene. Values are stored in
// `value_dtype` (float32 or float64); CSR leaves exact zeros implicit.
Matrix steady_state_velocity(const Matrix& m_s, const Matrix& m_u, const std::vector<int64_t>& genes,
                             const std::vector<double>& gamma, int64_t n_vars, DType value_dtype);

}  // namespace velofield
