#pragma once
// The Kokkos functor behind umap_epoch(): one thread per local cell.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "kokkos_math.hpp"
#include "umap_epoch.hpp"

namespace velofield::kernels {

// SplitMix64 finaliser over the keys: a stateless, counter-based stream, identical on any
// backend and for any assignment of cells to ranks or threads.
KOKKOS_INLINE_FUNCTION uint64_t umap_mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

KOKKOS_INLINE_FUNCTION uint64_t umap_random_key(uint64_t seed, int64_t epoch, int64_t cell, int64_t draw) {
  uint64_t h = umap_mix(seed ^ 0x75AB1E5EEDULL);
  h = umap_mix(h ^ static_cast<uint64_t>(epoch));
  h = umap_mix(h ^ static_cast<uint64_t>(cell));
  return umap_mix(h ^ static_cast<uint64_t>(draw));
}

template <class MemorySpace>
struct UmapEpochFunctor {
  static constexpr int kMaxDim = 8;
  Kokkos::View<const int64_t*, MemorySpace> indptr, tails;
  Kokkos::View<const double*, MemorySpace> epochs_per_sample;
  Kokkos::View<double*, MemorySpace> next_sample, next_negative;
  Kokkos::View<const float**, Kokkos::LayoutRight, MemorySpace> snapshot;   // n_vertices × dim
  Kokkos::View<float**, Kokkos::LayoutRight, MemorySpace> embedding;        // rows × dim
  UmapEpochParams p;

  KOKKOS_INLINE_FUNCTION static double clip(double g) { return g > 4.0 ? 4.0 : (g < -4.0 ? -4.0 : g); }

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int dim = p.dim;
    const int64_t self = p.first_vertex + i;
    const double n = static_cast<double>(p.epoch);
    double x[kMaxDim];
    for (int d = 0; d < dim; ++d) x[d] = embedding(i, d);
    int64_t draw = 0;
    for (int64_t e = indptr(i); e < indptr(i + 1); ++e) {
      const double eps = epochs_per_sample(e);
      if (eps <= 0 || next_sample(e) > n) continue;
      const int64_t t = tails(e);
      // Attraction, twice: the head's own pull and the pull the reverse edge gives it in UMAP.
      for (int rep = 0; rep < 2; ++rep) {
        double d2 = 0;
        for (int d = 0; d < dim; ++d) {
          const double diff = x[d] - snapshot(t, d);
          d2 += diff * diff;
        }
        if (d2 <= 0) break;
        const double pow_b = kmath::exp(p.b * kmath::log(d2));   // d2^b
        const double coeff = -2.0 * p.a * p.b * (pow_b / d2) / (p.a * pow_b + 1.0);
        for (int d = 0; d < dim; ++d) x[d] += clip(coeff * (x[d] - snapshot(t, d))) * p.alpha;
      }
      next_sample(e) += eps;
      const double eps_neg = eps / p.negative_sample_rate;
      const int64_t n_neg = static_cast<int64_t>((n - next_negative(e)) / eps_neg);
      for (int64_t s = 0; s < n_neg; ++s) {
        const int64_t k = static_cast<int64_t>(umap_random_key(p.seed, p.epoch, self, draw++) %
                                               static_cast<uint64_t>(p.n_vertices));
        if (k == self) continue;
        double d2 = 0;
        for (int d = 0; d < dim; ++d) {
          const double diff = x[d] - snapshot(k, d);
          d2 += diff * diff;
        }
        if (d2 > 0) {
          const double pow_b = kmath::exp(p.b * kmath::log(d2));
          const double coeff = 2.0 * p.gamma * p.b / ((0.001 + d2) * (p.a * pow_b + 1.0));
          for (int d = 0; d < dim; ++d) x[d] += clip(coeff * (x[d] - snapshot(k, d))) * p.alpha;
        } else {
          // Coincident with another cell: UMAP pushes by the clip value.
          for (int d = 0; d < dim; ++d) x[d] += 4.0 * p.alpha;
        }
      }
      if (n_neg > 0) next_negative(e) += static_cast<double>(n_neg) * eps_neg;
    }
    for (int d = 0; d < dim; ++d) embedding(i, d) = static_cast<float>(x[d]);
  }
};

}  // namespace velofield::kernels
