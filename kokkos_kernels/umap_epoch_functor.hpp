#pragma once
// The Kokkos functor behind umap_epoch(): one thread per local cell.
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "fast_pow.hpp"
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
  static constexpr int kBatch = 8;
  Kokkos::View<const int64_t*, MemorySpace> indptr, tails;
  Kokkos::View<const double*, MemorySpace> epochs_per_sample;
  Kokkos::View<double*, MemorySpace> next_sample, next_negative;
  Kokkos::View<const float**, Kokkos::LayoutRight, MemorySpace> snapshot;   // n_vertices × dim
  Kokkos::View<float**, Kokkos::LayoutRight, MemorySpace> embedding;        // rows × dim
  UmapEpochParams p;
  double negative_sample_rate = 5;

  KOKKOS_INLINE_FUNCTION static float clip(float g) { return g > 4.0f ? 4.0f : (g < -4.0f ? -4.0f : g); }

  // The layout's dimension as a compile-time constant for the usual 2 (and 3): the coordinates
  // stay in registers and the coordinate loops unroll; DIM = 0 runs any dimension up to kMaxDim.
  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    if (p.dim == 2) move_cell<2>(i);
    else if (p.dim == 3) move_cell<3>(i);
    else move_cell<0>(i);
  }

  template <int DIM>
  KOKKOS_INLINE_FUNCTION void move_cell(const int64_t i) const {
    const int dim = DIM > 0 ? DIM : p.dim;
    const int64_t self = p.first_vertex + i;
    const double n = static_cast<double>(p.epoch);
    // Single precision, like umap-learn's float32 embedding; one power per gradient.
    const float a = static_cast<float>(p.a), b = static_cast<float>(p.b), alpha = static_cast<float>(p.alpha);
    const float two_ab = 2.0f * a * b, two_gamma_b = static_cast<float>(2.0 * p.gamma * p.b);
    const double n_vertices = static_cast<double>(p.n_vertices);
    float x[DIM > 0 ? DIM : kMaxDim];
    for (int d = 0; d < dim; ++d) x[d] = embedding(i, d);
    // The cell's random stream for this epoch: one mixing round per draw after this.
    const uint64_t stream = umap_random_key(p.seed, p.epoch, self, 0);
    uint64_t draw = 0;
    for (int64_t e = indptr(i); e < indptr(i + 1); ++e) {
      const double eps = epochs_per_sample(e);
      if (eps <= 0 || next_sample(e) > n) continue;
      const int64_t t = tails(e);
      // Attraction, twice: the head's own pull and the pull the reverse edge gives it in UMAP
      // (move_other). Both use the gradient coefficient at the current distance; the second
      // pull starts where the first left the cell, so together they never overshoot the
      // neighbour, and one power evaluation serves both.
      float dist2 = 0;
      for (int d = 0; d < dim; ++d) {
        const float diff = x[d] - snapshot(t, d);
        dist2 += diff * diff;
      }
      if (dist2 > 0) {
        const float pow_b = fast_pow(dist2, b);   // dist2^b
        const float coeff = -two_ab * pow_b / (dist2 * (a * pow_b + 1.0f));
        for (int rep = 0; rep < 2; ++rep)
          for (int d = 0; d < dim; ++d) x[d] += clip(coeff * (x[d] - snapshot(t, d))) * alpha;
      }
      next_sample(e) += eps;
      const double eps_neg = eps / negative_sample_rate;
      const int64_t n_neg = static_cast<int64_t>((n - next_negative(e)) / eps_neg);
      // The negative samples of one edge sample are pushes computed from the same position, in
      // groups of kBatch: independent power evaluations instead of one long dependency chain
      // (each SGD step waits on the previous one's position), which is what bounds the speed.
      for (int64_t s0 = 0; s0 < n_neg; s0 += kBatch) {
        const int m = static_cast<int>(n_neg - s0 < kBatch ? n_neg - s0 : kBatch);
        float other[kBatch][DIM > 0 ? DIM : kMaxDim];
        float d2[kBatch], push[kBatch];
        bool valid[kBatch];
        for (int j = 0; j < kBatch; ++j) {
          valid[j] = false;
          d2[j] = 1.0f;
          if (j >= m) continue;
          // Uniform over all cells from the top 53 bits (no 64-bit division).
          const uint64_t h = umap_mix(stream + 0x9E3779B97F4A7C15ULL * ++draw);
          int64_t k = static_cast<int64_t>(static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0) * n_vertices);
          if (k >= p.n_vertices) k = p.n_vertices - 1;
          if (k == self) continue;
          valid[j] = true;
          float sum = 0;
          for (int d = 0; d < dim; ++d) {
            other[j][d] = snapshot(k, d);
            const float diff = x[d] - other[j][d];
            sum += diff * diff;
          }
          d2[j] = sum;
        }
        for (int j = 0; j < kBatch; ++j)
          push[j] = two_gamma_b / ((0.001f + d2[j]) * (a * fast_pow(d2[j], b) + 1.0f));
        float delta[DIM > 0 ? DIM : kMaxDim];
        for (int d = 0; d < dim; ++d) delta[d] = 0;
        for (int j = 0; j < kBatch; ++j) {
          if (!valid[j]) continue;
          // Coincident with another cell: UMAP pushes by the clip value.
          for (int d = 0; d < dim; ++d) delta[d] += d2[j] > 0 ? clip(push[j] * (x[d] - other[j][d])) * alpha : 4.0f * alpha;
        }
        for (int d = 0; d < dim; ++d) x[d] += delta[d];
      }
      if (n_neg > 0) next_negative(e) += static_cast<double>(n_neg) * eps_neg;
    }
    for (int d = 0; d < dim; ++d) embedding(i, d) = x[d];
  }
};

}  // namespace velofield::kernels
