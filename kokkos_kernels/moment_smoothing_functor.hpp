#pragma once
// The Kokkos functor behind moment_smoothing(): one thread per output row, for one block of kCols
// columns at a time (the caller loops over the blocks). Within a block the source values of all
// rows are a few MB, so the neighbours' rows are read from cache rather than memory; the five
// sums stay in a local array and each output is written once. Moment-matrix rows are uniform
// (W_ij = 1 / (1 + deg_i)), so a row whose weights are all equal sums first and scales once.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kernel_path.hpp"
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

// The GPU layout (all columns in one launch, c0 = 0, n = width): a team per output row, a thread
// per column, the five sums in registers. A warp reads consecutive columns of one neighbour's
// row (coalesced) and writes consecutive outputs. The range kernel gave each thread a whole row:
// its 5 × kCols sums were a local-memory array and neighbouring threads read unrelated rows. Each
// output sums the same terms in the same order as in the range kernel.
template <class Value, class ExecSpace>
struct MomentSmoothingTeamFunctor {
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  MomentSmoothingFunctor<Value, typename ExecSpace::memory_space> f;

  template <bool Uniform, bool Second>
  KOKKOS_INLINE_FUNCTION void column(const int64_t i, const int64_t col, const Value scale) const {
    Value au = 0, as = 0, auu = 0, aus = 0, ass = 0;
    for (int64_t k = f.indptr(i); k < f.indptr(i + 1); ++k) {
      const int64_t j = f.cols(k);
      const Value w = Uniform ? Value(1) : static_cast<Value>(f.weights(k));
      const Value uv = f.u(j, col), sv = f.s(j, col);
      au += w * uv;
      as += w * sv;
      if (Second) {
        auu += w * (uv * uv);
        aus += w * (uv * sv);
        ass += w * (sv * sv);
      }
    }
    f.m_u(i, col) = scale * au;
    f.m_s(i, col) = scale * as;
    if (Second) {
      f.m_uu(i, col) = scale * auu;
      f.m_us(i, col) = scale * aus;
      f.m_ss(i, col) = scale * ass;
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const int64_t i = team.league_rank();
    const int64_t begin = f.indptr(i), end = f.indptr(i + 1);
    bool uniform = true;
    for (int64_t k = begin + 1; k < end && uniform; ++k) uniform = f.weights(k) == f.weights(begin);
    const Value scale = uniform && end > begin ? static_cast<Value>(f.weights(begin)) : Value(1);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, f.n), [&](const int c) {
      const int64_t col = f.c0 + c;
      if (uniform && f.second) column<true, true>(i, col, scale);
      else if (uniform) column<true, false>(i, col, scale);
      else if (f.second) column<false, true>(i, col, scale);
      else column<false, false>(i, col, scale);
    });
  }
};

// All rows × width outputs on the path given: the range kernel one kCols block of columns per
// launch (all rows of one block before the next, for the host caches), the team kernel all
// columns at once.
template <class Value, class ExecSpace>
void moment_smoothing_launch(MomentSmoothingFunctor<Value, typename ExecSpace::memory_space> f, int64_t rows,
                             int64_t width, KernelPath path = default_kernel_path<ExecSpace>()) {
  using F = MomentSmoothingFunctor<Value, typename ExecSpace::memory_space>;
  if (path == KernelPath::team) {
    f.c0 = 0;
    f.n = static_cast<int>(width);
    const int threads = team_kernel_threads<ExecSpace>() == 1 ? 1 : (width >= 128 ? 128 : width > 32 ? 64 : 32);
    Kokkos::parallel_for("velofield::moment_smoothing", Kokkos::TeamPolicy<ExecSpace>(static_cast<int>(rows), threads),
                         MomentSmoothingTeamFunctor<Value, ExecSpace>{f});
    return;
  }
  for (int64_t c0 = 0; c0 < width; c0 += F::kCols) {
    f.c0 = c0;
    f.n = static_cast<int>(width - c0 < F::kCols ? width - c0 : F::kCols);
    Kokkos::parallel_for("velofield::moment_smoothing", Kokkos::RangePolicy<ExecSpace>(0, rows), f);
  }
}

}  // namespace velofield::kernels
