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

// The gene loop of one (cell, neighbour) pair. On a GPU the team's vector lanes share it (a
// Kokkos nested reduction over DisplacementSums, loads coalesced); on host backends, where a team
// has one lane, it is a plain loop (host_pair_sums) whose sums the compiler may vectorise (`omp
// simd` reduction: without it no compiler reassociates floating-point sums, and the square roots,
// which dominate, would stay scalar).
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__) || defined(__SYCL_DEVICE_ONLY__)
#define VELOFIELD_SIMD
#define VELOFIELD_SIMD_REDUCTION(...)
#else
#define VELOFIELD_PRAGMA(x) _Pragma(#x)
#define VELOFIELD_SIMD VELOFIELD_PRAGMA(omp simd)
#define VELOFIELD_SIMD_REDUCTION(...) VELOFIELD_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#endif

struct DisplacementSums {
  double sum = 0;      // Σ d~
  double sum_sq = 0;   // Σ d~²
  double dot = 0;      // Σ d~ · v~

  KOKKOS_INLINE_FUNCTION DisplacementSums& operator+=(const DisplacementSums& o) {
    sum += o.sum;
    sum_sq += o.sum_sq;
    dot += o.dot;
    return *this;
  }
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile DisplacementSums& o) volatile {
    sum += o.sum;
    sum_sq += o.sum_sq;
    dot += o.dot;
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

// The transformed displacement of one gene, in the precision of the inputs: float rows take
// float square roots (twice the vector width), double rows double ones. The transform is a
// template parameter: a switch in the innermost loop would keep it from vectorising.
template <class Value, SimilarityTransform Transform>
KOKKOS_INLINE_FUNCTION Value transformed_displacement(Value xj, Value xi) {
  const Value d = xj - xi;
  switch (Transform) {
    case SimilarityTransform::sqrt: {
      const Value r = kmath::sqrt(kmath::fabs(d));   // one root, then the sign: both branches would cost two
      return d < 0 ? -r : r;
    }
    case SimilarityTransform::log: {
      const Value r = kmath::log1p(kmath::fabs(d));
      return d < 0 ? -r : r;
    }
    case SimilarityTransform::logratio: return kmath::log1p(kmath::fabs(xj)) - kmath::log1p(kmath::fabs(xi));
    case SimilarityTransform::linear: break;
  }
  return d;
}

#if !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && !defined(__SYCL_DEVICE_ONLY__)
// x86-64 builds target the 2003 baseline (SSE2: two doubles per square root). The host gene loop
// is cloned for AVX2 and AVX-512 and the loader picks the widest the CPU has (GCC's
// target_clones: 2.5-3.6x on this loop), so one binary is both portable and fast.
// Not under nvcc/hipcc: there the kernel runs on the device, and their front ends do not take it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__) && !defined(__HIPCC__)
#define VELOFIELD_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VELOFIELD_TARGET_CLONES
#endif

// Σ d, Σ d², Σ d·v over the genes, d = d~ − shift: two loops per chunk of genes, the transform in
// the inputs' precision (a loop mixing float and double stays scalar), then the sums in double.
template <class Value, SimilarityTransform Transform>
VELOFIELD_TARGET_CLONES void host_pair_sums(const Value* xj, const Value* xi, const double* v, int64_t genes, double shift,
                                            double* sums) {
  constexpr int64_t kChunk = 256;
  Value t[kChunk];
  double a = 0, b = 0, c = 0;
  for (int64_t g0 = 0; g0 < genes; g0 += kChunk) {
    const int64_t len = genes - g0 < kChunk ? genes - g0 : kChunk;
    VELOFIELD_SIMD
    for (int64_t q = 0; q < len; ++q) t[q] = transformed_displacement<Value, Transform>(xj[g0 + q], xi[g0 + q]);
    VELOFIELD_SIMD_REDUCTION(a, b, c)
    for (int64_t q = 0; q < len; ++q) {
      const double d = static_cast<double>(t[q]) - shift;
      a += d;
      b += d * d;
      c += d * v[g0 + q];
    }
  }
  sums[0] = a;
  sums[1] = b;
  sums[2] = c;
}
#endif

template <class Value, class ExecutionSpace, SimilarityTransform Transform>
struct SimilarityFunctor {
  using MemorySpace = typename ExecutionSpace::memory_space;
  using Member = typename Kokkos::TeamPolicy<ExecutionSpace>::member_type;
  static constexpr bool kHost = std::is_same<MemorySpace, Kokkos::HostSpace>::value;

  Kokkos::View<const Value**, Kokkos::LayoutRight, MemorySpace> rows, halo;
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> transformed;
  Kokkos::View<const double*, MemorySpace> norm, sum;
  Kokkos::View<const int64_t*, MemorySpace> cell_row, offsets, neighbor_row;
  Kokkos::View<double*, MemorySpace> similarity;
  SimilarityMeasure measure;

  KOKKOS_INLINE_FUNCTION static Value displacement(Value xj, Value xi) { return transformed_displacement<Value, Transform>(xj, xi); }
  // Expression of gene g in row r of the rank's table or of the halo.
  KOKKOS_INLINE_FUNCTION Value x(int64_t r, int64_t g) const {
    const int64_t n = static_cast<int64_t>(rows.extent(0));
    return r < n ? rows(r, g) : halo(r - n, g);
  }
  KOKKOS_INLINE_FUNCTION const Value* row_data(int64_t r) const {
    const int64_t n = static_cast<int64_t>(rows.extent(0));
    return r < n ? &rows(r, 0) : &halo(r - n, 0);
  }

  KOKKOS_INLINE_FUNCTION DisplacementSums pair_sums(const Member& team, const int64_t i, const int64_t ri, const int64_t rj,
                                                    const double shift) const {
    const int64_t genes = static_cast<int64_t>(rows.extent(1));
    DisplacementSums s;
    if constexpr (kHost) {
      (void)team;
#if !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && !defined(__SYCL_DEVICE_ONLY__)
      double sums[3];
      host_pair_sums<Value, Transform>(row_data(rj), row_data(ri), &transformed(i, 0), genes, shift, sums);
      s.sum = sums[0];
      s.sum_sq = sums[1];
      s.dot = sums[2];
#endif
    } else {
      Kokkos::parallel_reduce(
          Kokkos::ThreadVectorRange(team, genes),
          [&](const int64_t g, DisplacementSums& acc) {
            const double d = static_cast<double>(displacement(x(rj, g), rows(ri, g))) - shift;
            acc.sum += d;
            acc.sum_sq += d * d;
            acc.dot += d * transformed(i, g);
          },
          s);
    }
    return s;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const int64_t i = team.league_rank();
    const int64_t genes = static_cast<int64_t>(rows.extent(1));
    const int64_t ri = cell_row(i);
    const double v_norm = norm(i), v_sum = sum(i);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, offsets(i), offsets(i + 1)), [&](const int64_t k) {
      const int64_t rj = neighbor_row(k);
      if (v_norm == 0 || rj == ri) {
        Kokkos::single(Kokkos::PerThread(team), [&]() { similarity(k) = 0; });
        return;
      }
      // Sums of d~ − d~_0 rather than d~: the centred norm Σd² − (Σd)²/n then has no cancellation
      // for a displacement that is (nearly) constant over genes, and is exactly 0 for a constant one.
      const double shift = measure == SimilarityMeasure::pearson ? static_cast<double>(displacement(x(rj, 0), rows(ri, 0))) : 0.0;
      const DisplacementSums s = pair_sums(team, i, ri, rj, shift);
      double numerator = s.dot, d_norm_sq = s.sum_sq;
      if (measure == SimilarityMeasure::pearson) {
        const double d_mean = s.sum / static_cast<double>(genes);
        numerator = s.dot - d_mean * v_sum;
        d_norm_sq = s.sum_sq - s.sum * d_mean;
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
template <>
struct reduction_identity<velofield::kernels::DisplacementSums> {
  KOKKOS_FORCEINLINE_FUNCTION static velofield::kernels::DisplacementSums sum() { return {}; }
};
}  // namespace Kokkos
