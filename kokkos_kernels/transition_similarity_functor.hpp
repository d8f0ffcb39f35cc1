#pragma once
// The Kokkos functors behind transition_similarity(): one pass over each cell's velocity (the
// transformed, centred vector and its norm), then one team per cell, its threads over the
// neighbours and the vector lanes over the genes.
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <type_traits>

#include "kokkos_math.hpp"
#include "transition_similarity.hpp"

namespace velofield::kernels {

// On host backends each vector-range index covers kHostLanes consecutive genes with independent
// partial sums, so the compiler can vectorise the square roots and the sums without reassociating
// them (no -ffast-math); on a GPU one gene per lane keeps the loads coalesced.
template <class MemorySpace>
constexpr int similarity_lanes() {
  return std::is_same<MemorySpace, Kokkos::HostSpace>::value ? 8 : 1;
}

template <int Lanes>
struct DisplacementSums {
  double sum[Lanes];          // Σ d~
  double sum_sq[Lanes];       // Σ d~²
  double dot[Lanes];          // Σ d~ · v~

  KOKKOS_INLINE_FUNCTION DisplacementSums() {
    for (int l = 0; l < Lanes; ++l) sum[l] = sum_sq[l] = dot[l] = 0;
  }
  KOKKOS_INLINE_FUNCTION DisplacementSums& operator+=(const DisplacementSums& o) {
    for (int l = 0; l < Lanes; ++l) {
      sum[l] += o.sum[l];
      sum_sq[l] += o.sum_sq[l];
      dot[l] += o.dot[l];
    }
    return *this;
  }
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile DisplacementSums& o) volatile {
    for (int l = 0; l < Lanes; ++l) {
      sum[l] += o.sum[l];
      sum_sq[l] += o.sum_sq[l];
      dot[l] += o.dot[l];
    }
  }
};

KOKKOS_INLINE_FUNCTION double signed_root(double x) { return x < 0 ? -kmath::sqrt(-x) : kmath::sqrt(x); }
KOKKOS_INLINE_FUNCTION double signed_log1p(double x) { return x < 0 ? -kmath::log1p(-x) : kmath::log1p(x); }

// Transformed velocity of gene g of a cell with expression x.
KOKKOS_INLINE_FUNCTION double transform_velocity(SimilarityTransform t, double v, double x) {
  switch (t) {
    case SimilarityTransform::sqrt: return signed_root(v);
    case SimilarityTransform::log: return signed_log1p(v);
    case SimilarityTransform::logratio: return kmath::log1p(kmath::fabs(x + v)) - kmath::log1p(kmath::fabs(x));
    case SimilarityTransform::linear: break;
  }
  return v;
}

// Per cell: v~ (centred over genes for pearson), its norm (0 when the raw velocity sums to
// exactly 0: dynamo skips such a cell) and Σ v~ (the rounding residue of the centring).
template <class Value, class MemorySpace>
struct VelocityTransformFunctor {
  Kokkos::View<const Value**, Kokkos::LayoutRight, MemorySpace> rows, velocity;
  Kokkos::View<const int64_t*, MemorySpace> cell_row;
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> transformed;
  Kokkos::View<double*, MemorySpace> norm, sum;
  SimilarityTransform transform;
  SimilarityMeasure measure;

  KOKKOS_INLINE_FUNCTION void operator()(const int64_t i) const {
    const int64_t genes = static_cast<int64_t>(velocity.extent(1));
    const int64_t r = cell_row(i);
    double raw_sum = 0, mean = 0;
    for (int64_t g = 0; g < genes; ++g) {
      const double v = static_cast<double>(velocity(i, g));
      raw_sum += v;
      const double t = transform_velocity(transform, v, static_cast<double>(rows(r, g)));
      transformed(i, g) = t;
      mean += t;
    }
    mean = genes > 0 ? mean / static_cast<double>(genes) : 0.0;
    double sq = 0, s = 0;
    for (int64_t g = 0; g < genes; ++g) {
      const double t = measure == SimilarityMeasure::pearson ? transformed(i, g) - mean : transformed(i, g);
      transformed(i, g) = t;
      sq += t * t;
      s += t;
    }
    norm(i) = raw_sum == 0 ? 0.0 : kmath::sqrt(sq);
    sum(i) = s;
  }
};

template <class Value, class ExecutionSpace>
struct SimilarityFunctor {
  using MemorySpace = typename ExecutionSpace::memory_space;
  using Member = typename Kokkos::TeamPolicy<ExecutionSpace>::member_type;
  static constexpr int Lanes = similarity_lanes<MemorySpace>();
  using Sums = DisplacementSums<Lanes>;

  Kokkos::View<const Value**, Kokkos::LayoutRight, MemorySpace> rows;
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> transformed;
  Kokkos::View<const double*, MemorySpace> norm, sum;
  Kokkos::View<const int64_t*, MemorySpace> cell_row, offsets, neighbor_row;
  Kokkos::View<double*, MemorySpace> similarity;
  SimilarityTransform transform;
  SimilarityMeasure measure;

  // The transformed displacement of one gene.
  KOKKOS_INLINE_FUNCTION double displacement(double xj, double xi) const {
    switch (transform) {
      case SimilarityTransform::sqrt: return signed_root(xj - xi);
      case SimilarityTransform::log: return signed_log1p(xj - xi);
      case SimilarityTransform::logratio: return kmath::log1p(kmath::fabs(xj)) - kmath::log1p(kmath::fabs(xi));
      case SimilarityTransform::linear: break;
    }
    return xj - xi;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const int64_t i = team.league_rank();
    const int64_t genes = static_cast<int64_t>(rows.extent(1));
    const int64_t chunks = (genes + Lanes - 1) / Lanes;
    const int64_t ri = cell_row(i);
    const double v_norm = norm(i), v_sum = sum(i);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, offsets(i), offsets(i + 1)), [&](const int64_t k) {
      const int64_t rj = neighbor_row(k);
      if (v_norm == 0 || rj == ri) {
        Kokkos::single(Kokkos::PerThread(team), [&]() { similarity(k) = 0; });
        return;
      }
      Sums s;
      Kokkos::parallel_reduce(
          Kokkos::ThreadVectorRange(team, chunks),
          [&](const int64_t c, Sums& acc) {
            const int64_t g0 = c * Lanes;
            if (g0 + Lanes <= genes) {
              for (int l = 0; l < Lanes; ++l) {
                const double d = displacement(static_cast<double>(rows(rj, g0 + l)), static_cast<double>(rows(ri, g0 + l)));
                acc.sum[l] += d;
                acc.sum_sq[l] += d * d;
                acc.dot[l] += d * transformed(i, g0 + l);
              }
            } else {
              for (int l = 0; g0 + l < genes; ++l) {
                const double d = displacement(static_cast<double>(rows(rj, g0 + l)), static_cast<double>(rows(ri, g0 + l)));
                acc.sum[l] += d;
                acc.sum_sq[l] += d * d;
                acc.dot[l] += d * transformed(i, g0 + l);
              }
            }
          },
          s);
      double d_sum = 0, d_sq = 0, dot = 0;
      for (int l = 0; l < Lanes; ++l) {
        d_sum += s.sum[l];
        d_sq += s.sum_sq[l];
        dot += s.dot[l];
      }
      double numerator = dot, d_norm_sq = d_sq;
      if (measure == SimilarityMeasure::pearson) {
        const double d_mean = d_sum / static_cast<double>(genes);
        numerator = dot - d_mean * v_sum;
        d_norm_sq = d_sq - d_sum * d_mean;
      }
      // A displacement that is constant over genes (pearson) or zero (cosine) has no direction:
      // dynamo's 0/0 → NaN → 0.
      const double value = d_norm_sq > 0 ? numerator / (kmath::sqrt(d_norm_sq) * v_norm) : 0.0;
      Kokkos::single(Kokkos::PerThread(team), [&]() { similarity(k) = value; });
    });
  }
};

}  // namespace velofield::kernels

namespace Kokkos {
// Nested reductions over a struct need its identity (Kokkos::Sum on a GPU team).
template <int Lanes>
struct reduction_identity<velofield::kernels::DisplacementSums<Lanes>> {
  KOKKOS_FORCEINLINE_FUNCTION static velofield::kernels::DisplacementSums<Lanes> sum() {
    return velofield::kernels::DisplacementSums<Lanes>();
  }
};
}  // namespace Kokkos
