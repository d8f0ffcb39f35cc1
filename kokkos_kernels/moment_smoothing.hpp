#pragma once
// First and uncentred second moments over a neighbour graph (dynamo's tl.moments): a sparse ×
// dense product of the row-normalised moment matrix W with the unspliced and spliced values,
// computed for all five layers in one pass over the graph so the neighbour rows are read once.
// Kokkos-free header; the functor is in moment_smoothing_functor.hpp.
#include <cstdint>

namespace velofield::kernels {

// For every graph row i (indptr/cols/weights: CSR with `rows` rows; cols index the rows of u and
// s, n_source_rows × width, row-major) and column c:
//   m_u = Σ_k w_k u[j_k, c]        m_s = Σ_k w_k s[j_k, c]
//   m_uu = Σ_k w_k u[j_k, c]²      m_us = Σ_k w_k u[j_k, c] s[j_k, c]      m_ss = Σ_k w_k s[j_k, c]²
// Output row i starts at out + i × out_stride (out_stride >= width, so a block of columns can be
// written straight into a wider matrix). m_uu, m_us and m_ss may be null (first moments only).
// Terms are added in the order of the row's entries, so the result does not depend on how the
// source rows were split between local and fetched (halo) rows.
// Value is double or float: the values, the sums and the outputs all have that type (float halves
// the memory traffic and doubles the SIMD width; its sums of a few dozen terms are good to ~1e-6).
template <class Value>
void moment_smoothing(int64_t rows, const int64_t* indptr, const int64_t* cols, const double* weights,
                      int64_t n_source_rows, int64_t width, const Value* u, const Value* s, int64_t out_stride,
                      Value* m_u, Value* m_s, Value* m_uu, Value* m_us, Value* m_ss);

}  // namespace velofield::kernels
