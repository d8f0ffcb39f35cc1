#pragma once
// The Kokkos functors behind gaussian_kernel_block.hpp: one thread per matrix entry, the entry
// index flattened so that neighbouring threads share a row of x (coalesced on a GPU). A GPU
// runs the kernel block as GaussianKernelBlockTeamFunctor instead.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kernel_path.hpp"
#include "kokkos_math.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct GaussianKernelBlockFunctor {
  Kokkos::View<const double*, MemorySpace> x, c;
  Kokkos::View<double*, MemorySpace> u;
  int64_t centres = 0, dim = 0;
  double beta = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const {
    const int64_t i = e / centres, m = e % centres;
    double d2 = 0;
    for (int64_t q = 0; q < dim; ++q) {
      const double diff = x(i * dim + q) - c(m * dim + q);
      d2 += diff * diff;
    }
    u(e) = kmath::exp(-beta * d2);
  }
};

// The kernel block on a GPU (dim <= MaxDim): a team owns team_size centres × kRows rows of U. Each
// thread keeps its centre's coordinates in registers and writes one column of the block, so a
// warp writes consecutive entries of a row of U; the team's kRows rows of x are staged once in
// team scratch memory, where all threads read the same value at once (a broadcast). The range
// kernel read c(m, q) strided by dim across neighbouring threads (a 32-line read per warp per
// coordinate) and split its flat index with a 64-bit division per entry. Each entry's sum runs
// over the coordinates in the same order as the range kernel's.
template <class ExecSpace, int MaxDim>
struct GaussianKernelBlockTeamFunctor {
  using Mem = typename ExecSpace::memory_space;
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using Scratch = Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int kRows = 32;
  // Rows per step: that many independent sums for the scheduler to overlap. Only for small dims:
  // at dim 30 the extra registers cost more occupancy than the overlap gains (measured on an H100).
  static constexpr int kRowStep = MaxDim <= 8 ? 4 : 1;
  // At the large bound the x rows are padded with zeros to MaxDim coordinates and the loops run
  // over all MaxDim without a test per coordinate (a padded coordinate adds exactly 0).
  static constexpr bool kPad = MaxDim > 8;
  GaussianKernelBlockFunctor<Mem> f;
  int64_t rows = 0;
  int64_t centre_blocks = 0;

  static size_t scratch_bytes(int64_t dim) { return Scratch::shmem_size(static_cast<size_t>(kRows * (kPad ? MaxDim : dim))); }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const int d = static_cast<int>(f.dim);
    const int64_t block = team.league_rank();
    const int64_t m = (block % centre_blocks) * team.team_size() + team.team_rank();
    const int64_t i0 = block / centre_blocks * kRows;
    const int nr = static_cast<int>(rows - i0 < kRows ? rows - i0 : kRows);
    const int s = kPad ? MaxDim : d;
    Scratch xs(team.team_scratch(0), static_cast<size_t>(kRows * s));
    if (kPad)
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nr * MaxDim), [&](const int e) {
        const int r = e / MaxDim, q = e % MaxDim;
        xs(e) = q < d ? f.x((i0 + r) * d + q) : 0.0;
      });
    else
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nr * d), [&](const int e) { xs(e) = f.x(i0 * d + e); });
    team.team_barrier();
    if (m >= f.centres) return;
    double cr[MaxDim];
    VELOFIELD_UNROLL
    for (int q = 0; q < MaxDim; ++q) cr[q] = q < d ? f.c(m * d + q) : 0.0;
    int r = 0;
    for (; r + kRowStep <= nr; r += kRowStep) entries<kRowStep>(xs.data() + r * s, d, s, cr, i0 + r, m);
    for (; r < nr; ++r) entries<1>(xs.data() + r * s, d, s, cr, i0 + r, m);
  }

  // U(i, m) for the R rows i, i + 1, ... whose coordinates start at xr (s apart; dim d): R
  // independent sums, each over the coordinates in order.
  template <int R>
  KOKKOS_FORCEINLINE_FUNCTION void entries(const double* xr, const int d, const int s, const double (&cr)[MaxDim],
                                           const int64_t i, const int64_t m) const {
    double d2[R];
    VELOFIELD_UNROLL
    for (int j = 0; j < R; ++j) d2[j] = 0;
    VELOFIELD_UNROLL
    for (int q = 0; q < MaxDim; ++q)
      if (kPad || q < d) {
        VELOFIELD_UNROLL
        for (int j = 0; j < R; ++j) {
          const double diff = xr[j * s + q] - cr[q];
          d2[j] += diff * diff;
        }
      }
    VELOFIELD_UNROLL
    for (int j = 0; j < R; ++j) f.u((i + j) * f.centres + m) = kmath::exp(-f.beta * d2[j]);
  }
};

// U for rows × f.centres on the path given (the team path needs dim <= 32 and takes the range
// path above that).
template <class ExecSpace>
void gaussian_kernel_block_launch(const GaussianKernelBlockFunctor<typename ExecSpace::memory_space>& f, int64_t rows,
                                  KernelPath path = default_kernel_path<ExecSpace>()) {
  const char* label = "velofield::gaussian_kernel_block";
  if (path == KernelPath::team && f.dim <= 32) {
    const int threads = team_kernel_threads<ExecSpace>();
    const int64_t centre_blocks = (f.centres + threads - 1) / threads;
    const int64_t row_blocks = (rows + GaussianKernelBlockTeamFunctor<ExecSpace, 8>::kRows - 1) /
                               GaussianKernelBlockTeamFunctor<ExecSpace, 8>::kRows;
    Kokkos::TeamPolicy<ExecSpace> policy(static_cast<int>(centre_blocks * row_blocks), threads);
    if (f.dim <= 8) {
      using T = GaussianKernelBlockTeamFunctor<ExecSpace, 8>;
      policy.set_scratch_size(0, Kokkos::PerTeam(T::scratch_bytes(f.dim)));
      Kokkos::parallel_for(label, policy, T{f, rows, centre_blocks});
    } else {
      using T = GaussianKernelBlockTeamFunctor<ExecSpace, 32>;
      policy.set_scratch_size(0, Kokkos::PerTeam(T::scratch_bytes(f.dim)));
      Kokkos::parallel_for(label, policy, T{f, rows, centre_blocks});
    }
    return;
  }
  Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecSpace>(0, rows * f.centres), f);
}

template <class MemorySpace>
struct GaussianFromInnerProductsFunctor {
  Kokkos::View<const double*, MemorySpace> x_sq, c_sq;
  Kokkos::View<double*, MemorySpace> g;
  int64_t centres = 0;
  double beta = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const {
    const int64_t i = e / centres, m = e % centres;
    double d2 = x_sq(i) + c_sq(m) - 2 * g(e);
    // Rounding can push the squared distance of (nearly) coincident points below zero.
    if (d2 < 0) d2 = 0;
    g(e) = kmath::exp(-beta * d2);
  }
};

template <class MemorySpace>
struct ScaleRowsFunctor {
  Kokkos::View<const double*, MemorySpace> w, a;
  Kokkos::View<double*, MemorySpace> out;
  int64_t cols = 0, lda = 0, ldo = 0;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t e) const {
    const int64_t i = e / cols, j = e % cols;
    out(i * ldo + j) = w(i) * a(i * lda + j);
  }
};

}  // namespace velofield::kernels
