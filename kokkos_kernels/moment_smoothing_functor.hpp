#pragma once
// The Kokkos functor behind moment_smoothing(): one thread per output row, for one block of kCols
// columns at a time (the caller loops over the blocks). Within a block the source values of all
// rows are a few MB, so the neighbours' rows are read from cache rather than memory; the five
// sums stay in a local array and each output is written once. Moment-matrix rows are uniform
// (W_ij = 1 / (1 + deg_i)), so a row whose weights are all equal sums first and scales once.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "moment_smoothing.hpp"

namespace velofield::kernels {

template <class Value, class MemorySpace>
struct MomentSmoothingFunctor {
  static constexpr int kCols = 64;
  using Dense = Kokkos::View<const Value**, Kokkos::LayoutRight, MemorySpace>;
  using Out = Kokkos::View<Value**, Kokkos::LayoutStride, MemorySpace>;
  Kokkos::View<const int64_t*, MemorySpace> indptr;
  Kokkos::View<const int64_t*, MemorySpace> cols;
  Kokkos::View<const double*, MemorySpace> weights;
  Dense u, s;
  Out m_u, m_s, m_uu, m_us, m_ss;
  bool second = true;
  int64_t c0 = 0;   // the block's first column
  int n = 0;        // and its width (<= kCols)

  template <bool Uniform, bool Second>
  KOKKOS_INLINE_FUNCTION void sums(const int64_t i, Value* au, Value* as, Value* auu, Value* aus, Value* ass) const {
    for (int64_t k = indptr(i); k < indptr(i + 1); ++k) {
      const int64_t j = cols(k);
      const Value w = Uniform ? Value(1) : static_cast<Value>(weights(k));
      const Value* uj = &u(j, c0);
      const Value* sj = &s(j, c0);
      for (int c = 0; c < n; ++c) {
        const Value uv = uj[c], sv = sj[c];
        au[c] += w * uv;
        as[c] += w * sv;
        if (Second) {
          auu[c] += w * (uv * uv);
          aus[c] += w * (uv * sv);
          ass[c] += w * (sv * sv);
        }
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t begin = indptr(i), end = indptr(i + 1);
    bool uniform = true;
    for (int64_t k = begin + 1; k < end && uniform; ++k) uniform = weights(k) == weights(begin);
    Value au[kCols], as[kCols], auu[kCols], aus[kCols], ass[kCols];
    for (int c = 0; c < n; ++c) au[c] = as[c] = auu[c] = aus[c] = ass[c] = 0;
    if (uniform && second) sums<true, true>(i, au, as, auu, aus, ass);
    else if (uniform) sums<true, false>(i, au, as, auu, aus, ass);
    else if (second) sums<false, true>(i, au, as, auu, aus, ass);
    else sums<false, false>(i, au, as, auu, aus, ass);
    const Value scale = uniform && end > begin ? static_cast<Value>(weights(begin)) : Value(1);
    for (int c = 0; c < n; ++c) {
      m_u(i, c0 + c) = scale * au[c];
      m_s(i, c0 + c) = scale * as[c];
    }
    if (second)
      for (int c = 0; c < n; ++c) {
        m_uu(i, c0 + c) = scale * auu[c];
        m_us(i, c0 + c) = scale * aus[c];
        m_ss(i, c0 + c) = scale * ass[c];
      }
  }
};

}  // namespace velofield::kernels
