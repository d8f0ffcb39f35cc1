#pragma once
// The Kokkos functors behind rkhs_field.hpp. Range kernels (host backends, and any dim): one thread
// per point, accumulating straight into the point's output row. Team kernels (GPUs, dim <= 32):
// see RkhsTeamFunctor. Both sum every point's terms in the same order (centres ascending,
// coordinates ascending), so a host backend gives the same bits on either path.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kernel_path.hpp"
#include "kokkos_math.hpp"

namespace velofield::kernels {

template <class MemorySpace>
struct RkhsFieldView {
  Kokkos::View<const double*, MemorySpace> ctrl, coef;
  int64_t centres = 0, dim = 0;
  double beta = 0;

  // k_m(x) for the point whose coordinates start at x(offset).
  KOKKOS_INLINE_FUNCTION double kernel(const Kokkos::View<const double*, MemorySpace>& x, int64_t offset,
                                       int64_t m) const {
    double d2 = 0;
    for (int64_t q = 0; q < dim; ++q) {
      const double diff = x(offset + q) - ctrl(m * dim + q);
      d2 += diff * diff;
    }
    return kmath::exp(-beta * d2);
  }
};

template <class MemorySpace>
struct RkhsValuesFunctor {
  RkhsFieldView<MemorySpace> f;
  Kokkos::View<const double*, MemorySpace> x;
  Kokkos::View<double*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t d = f.dim;
    for (int64_t p = 0; p < d; ++p) out(i * d + p) = 0;
    for (int64_t m = 0; m < f.centres; ++m) {
      const double k = f.kernel(x, i * d, m);
      for (int64_t p = 0; p < d; ++p) out(i * d + p) += k * f.coef(m * d + p);
    }
  }
};

template <class MemorySpace>
struct RkhsJacobiansFunctor {
  RkhsFieldView<MemorySpace> f;
  Kokkos::View<const double*, MemorySpace> x;
  Kokkos::View<double*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t d = f.dim, base = i * d * d;
    for (int64_t e = 0; e < d * d; ++e) out(base + e) = 0;
    for (int64_t m = 0; m < f.centres; ++m) {
      const double k = f.kernel(x, i * d, m);
      for (int64_t p = 0; p < d; ++p) {
        const double kc = k * f.coef(m * d + p);
        for (int64_t q = 0; q < d; ++q) out(base + p * d + q) += kc * (x(i * d + q) - f.ctrl(m * d + q));
      }
    }
    for (int64_t e = 0; e < d * d; ++e) out(base + e) *= -2 * f.beta;
  }
};

template <class MemorySpace>
struct RkhsJacobianVectorFunctor {
  RkhsFieldView<MemorySpace> f;
  Kokkos::View<const double*, MemorySpace> x, v;
  Kokkos::View<double*, MemorySpace> out;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t d = f.dim;
    for (int64_t p = 0; p < d; ++p) out(i * d + p) = 0;
    for (int64_t m = 0; m < f.centres; ++m) {
      double d2 = 0, proj = 0;
      for (int64_t q = 0; q < d; ++q) {
        const double diff = x(i * d + q) - f.ctrl(m * d + q);
        d2 += diff * diff;
        proj += diff * v(i * d + q);
      }
      const double w = kmath::exp(-f.beta * d2) * proj;
      for (int64_t p = 0; p < d; ++p) out(i * d + p) += w * f.coef(m * d + p);
    }
    for (int64_t p = 0; p < d; ++p) out(i * d + p) *= -2 * f.beta;
  }
};

// Values (Products = false) or Jacobian-vector products (Products = true) with one point per thread:
// the point's coordinates, its vector and its dim sums stay in registers (MaxDim >= dim bounds
// them), and the centres and coefficients pass through team scratch memory kTile at a time, where
// all threads read the same entry at once (a broadcast). The range kernels instead kept one point
// per thread but added every term into the output row in global memory, strided by dim across
// threads: 2 uncoalesced memory operations per flop.
template <class ExecSpace, int MaxDim, bool Products>
struct RkhsTeamFunctor {
  using Mem = typename ExecSpace::memory_space;
  using Member = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using Scratch = Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  static constexpr int kTile = 64;
  RkhsFieldView<Mem> f;
  Kokkos::View<const double*, Mem> x, v;
  Kokkos::View<double*, Mem> out;
  int64_t points = 0;

  // Centres per step: that many independent dependency chains (the squared distances, the
  // exponentials) for the scheduler to overlap. Only for small dims: at dim 30 the extra
  // registers cost more occupancy than the overlap gains (measured on an H100).
  static constexpr int kCentres = MaxDim <= 8 ? 4 : 1;
  // At the large bound the tiles are padded with zeros to MaxDim coordinates and the loops run
  // over all MaxDim without a test per coordinate (a padded coordinate adds exactly 0).
  static constexpr bool kPad = MaxDim > 8;

  static int stride(int64_t dim) { return kPad ? MaxDim : static_cast<int>(dim); }
  static size_t scratch_bytes(int64_t dim) { return Scratch::shmem_size(static_cast<size_t>(2 * kTile * stride(dim))); }

  // The terms of C consecutive centres (coordinates c, coefficients k, s apart; dim d). Each
  // centre's sums still run over the coordinates in order, and each accumulator takes the
  // centres in order.
  template <int C>
  KOKKOS_FORCEINLINE_FUNCTION void centres(const double* c, const double* k, const int d, const int s,
                                           const double (&xr)[MaxDim], const double (&vr)[MaxDim],
                                           double (&acc)[MaxDim]) const {
    double d2[C], proj[C], w[C];
    VELOFIELD_UNROLL
    for (int j = 0; j < C; ++j) d2[j] = proj[j] = 0;
    VELOFIELD_UNROLL
    for (int q = 0; q < MaxDim; ++q)
      if (kPad || q < d) {
        VELOFIELD_UNROLL
        for (int j = 0; j < C; ++j) {
          const double diff = xr[q] - c[j * s + q];
          d2[j] += diff * diff;
          if (Products) proj[j] += diff * vr[q];
        }
      }
    VELOFIELD_UNROLL
    for (int j = 0; j < C; ++j) w[j] = Products ? kmath::exp(-f.beta * d2[j]) * proj[j] : kmath::exp(-f.beta * d2[j]);
    VELOFIELD_UNROLL
    for (int p = 0; p < MaxDim; ++p)
      if (kPad || p < d) {
        VELOFIELD_UNROLL
        for (int j = 0; j < C; ++j) acc[p] += w[j] * k[j * s + p];
      }
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const int d = static_cast<int>(f.dim);
    const int64_t i = static_cast<int64_t>(team.league_rank()) * team.team_size() + team.team_rank();
    const bool active = i < points;
    const int s = kPad ? MaxDim : d;
    Scratch tile(team.team_scratch(0), static_cast<size_t>(2 * kTile * s));
    double* const cs = tile.data();
    double* const ks = cs + kTile * s;
    double xr[MaxDim], vr[MaxDim], acc[MaxDim];
    VELOFIELD_UNROLL
    for (int q = 0; q < MaxDim; ++q) {
      xr[q] = active && q < d ? x(i * d + q) : 0.0;
      vr[q] = Products && active && q < d ? v(i * d + q) : 0.0;
      acc[q] = 0;
    }
    for (int64_t m0 = 0; m0 < f.centres; m0 += kTile) {
      const int n = static_cast<int>(f.centres - m0 < kTile ? f.centres - m0 : kTile);
      team.team_barrier();   // the previous tile is no longer read
      if (kPad)
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n * MaxDim), [&](const int e) {
          const int m = e / MaxDim, q = e % MaxDim;
          cs[e] = q < d ? f.ctrl((m0 + m) * d + q) : 0.0;
          ks[e] = q < d ? f.coef((m0 + m) * d + q) : 0.0;
        });
      else
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n * d), [&](const int e) {
          cs[e] = f.ctrl(m0 * d + e);
          ks[e] = f.coef(m0 * d + e);
        });
      team.team_barrier();
      if (!active) continue;
      int m = 0;
      for (; m + kCentres <= n; m += kCentres) centres<kCentres>(cs + m * s, ks + m * s, d, s, xr, vr, acc);
      for (; m < n; ++m) centres<1>(cs + m * s, ks + m * s, d, s, xr, vr, acc);
    }
    if (!active) return;
    VELOFIELD_UNROLL
    for (int p = 0; p < MaxDim; ++p)
      if (p < d) out(i * d + p) = Products ? acc[p] * (-2 * f.beta) : acc[p];
  }
};

namespace detail {
template <class ExecSpace, int MaxDim, bool Products>
void rkhs_team_launch(const RkhsFieldView<typename ExecSpace::memory_space>& f, int64_t points,
                      const Kokkos::View<const double*, typename ExecSpace::memory_space>& x,
                      const Kokkos::View<const double*, typename ExecSpace::memory_space>& v,
                      const Kokkos::View<double*, typename ExecSpace::memory_space>& out, const char* label) {
  using F = RkhsTeamFunctor<ExecSpace, MaxDim, Products>;
  const int threads = team_kernel_threads<ExecSpace>();
  Kokkos::TeamPolicy<ExecSpace> policy(static_cast<int>((points + threads - 1) / threads), threads);
  policy.set_scratch_size(0, Kokkos::PerTeam(F::scratch_bytes(f.dim)));
  Kokkos::parallel_for(label, policy, F{f, x, v, out, points});
}
}  // namespace detail

// f(x_i) (products = false) or J(x_i)·v_i (products = true) for all points, on the path given
// (the team path needs dim <= 32 and takes the range path above that).
template <class ExecSpace>
void rkhs_field_launch(const RkhsFieldView<typename ExecSpace::memory_space>& f, int64_t points,
                       const Kokkos::View<const double*, typename ExecSpace::memory_space>& x,
                       const Kokkos::View<const double*, typename ExecSpace::memory_space>& v,
                       const Kokkos::View<double*, typename ExecSpace::memory_space>& out, bool products,
                       KernelPath path = default_kernel_path<ExecSpace>()) {
  using Mem = typename ExecSpace::memory_space;
  const char* label = products ? "velofield::rkhs_jacobian_vector_products" : "velofield::rkhs_field_values";
  if (path == KernelPath::team && f.dim <= 32) {
    if (f.dim <= 8) {
      if (products) detail::rkhs_team_launch<ExecSpace, 8, true>(f, points, x, v, out, label);
      else detail::rkhs_team_launch<ExecSpace, 8, false>(f, points, x, v, out, label);
    } else {
      if (products) detail::rkhs_team_launch<ExecSpace, 32, true>(f, points, x, v, out, label);
      else detail::rkhs_team_launch<ExecSpace, 32, false>(f, points, x, v, out, label);
    }
    return;
  }
  const Kokkos::RangePolicy<ExecSpace> policy(0, points);
  if (products) Kokkos::parallel_for(label, policy, RkhsJacobianVectorFunctor<Mem>{f, x, v, out});
  else Kokkos::parallel_for(label, policy, RkhsValuesFunctor<Mem>{f, x, out});
}

}  // namespace velofield::kernels
