#pragma once
// x^y for x > 0 in single precision as 2^(y log2 x), with short polynomial log2 and exp2
// evaluated in Estrin's scheme (relative error of x^y below 3e-5 for |y log2 x| < 20). UMAP's SGD
// evaluates one power per gradient and each step waits on the previous one, so the latency of
// the power bounds the speed: libm's double log and exp cost more than half the time, and an
// SGD step does not need their accuracy. Plain arithmetic and a bit copy, so it runs on any
// Kokkos backend.
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <cstring>

namespace velofield::kernels {

KOKKOS_INLINE_FUNCTION float fast_log2(float x) {
  // x = m · 2^e with m in [1, 2); log2(1 + t), t in [0, 1), by a degree-5 fit (|error| < 1.5e-5).
  uint32_t bits = 0;
  memcpy(&bits, &x, sizeof bits);
  bits = bits < 0x00800000u ? 0x00800000u : bits;   // denormals and 0 read as the smallest normal
  const int e = static_cast<int>((bits >> 23) & 255u) - 127;
  bits = (bits & 0x007FFFFFu) | 0x3F800000u;
  float m = 0;
  memcpy(&m, &bits, sizeof m);
  const float t = m - 1.0f, t2 = t * t;
  const float p01 = 1.439093e-05f + 1.44159208f * t;
  const float p23 = -0.707253434f + 0.411561482f * t;
  const float p45 = -0.189832447f + 0.0439286278f * t;
  return static_cast<float>(e) + (p01 + t2 * (p23 + t2 * p45));
}

KOKKOS_INLINE_FUNCTION float fast_exp2(float y) {
  // 2^y = 2^i · 2^f, f in [0, 1), by a degree-4 fit (relative error < 4e-6). |y| must stay below
  // 2^31 (y log2 x with log2 of a float is below 130 |y|). The exponent is clamped to the normal
  // range, so 2^-126 stands for anything smaller; integer selects only, so a loop of powers
  // vectorises.
  int i = static_cast<int>(y);
  i -= static_cast<int>(static_cast<float>(i) > y);   // floor for negative y
  const float f = y - static_cast<float>(i), f2 = f * f;
  const float p = (1.0000036f + 0.692969551f * f) + f2 * ((0.241621323f + 0.0517177355f * f) + f2 * 0.0136839829f);
  i = i < -126 ? -126 : i;
  i = i > 127 ? 127 : i;
  uint32_t bits = 0;
  memcpy(&bits, &p, sizeof bits);
  bits += static_cast<uint32_t>(i) << 23;
  float r = 0;
  memcpy(&r, &bits, sizeof r);
  return r;
}

KOKKOS_INLINE_FUNCTION float fast_pow(float x, float y) { return fast_exp2(y * fast_log2(x)); }

}  // namespace velofield::kernels
