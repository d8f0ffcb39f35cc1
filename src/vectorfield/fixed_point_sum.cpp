#include "vectorfield/fixed_point_sum.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"

namespace velofield {

namespace {

constexpr double kTwo32 = 4294967296.0;
constexpr double kTwoMinus32 = 1.0 / kTwo32;
// (s + 1.5·2^52) - 1.5·2^52 is s rounded to an integer (to nearest, ties to even) for |s| <= 2^51:
// the sum's ulp is 1. A constant, so the rounding of a term does not depend on any other term.
constexpr double kRoundMagic = 6755399441055744.0;
// Carries are propagated before a digit could hold 2^20 more terms of up to 2^32: below 2^53.
constexpr int64_t kCallsBetweenCarries = int64_t{1} << 20;
// The top digit must stay below 2^52 after a propagation (so 2^20 more terms keep it below 2^53).
constexpr double kTopDigitLimit = 4503599627370496.0;   // 2^52
// Bounds are clamped here so that the scale 2^(32 - exponent) stays a normal double.
constexpr int kMinExponent = -960;
// The limbs of this many sums travel per MPI_Allreduce (bounded scratch however large M is).
constexpr int64_t kSumsPerReduction = int64_t{1} << 20;

// floor(a / 2^32) for any int64 a (>> on negative values is implementation-defined in C++17).
int64_t floor_div_2_32(int64_t a) {
  const int64_t d = int64_t{1} << 32;
  return a >= 0 ? a / d : -((-(a + 1)) / d) - 1;
}

// Digits (d0, d1, d2) to d1, d2 in [0, 2^32) with the value kept: carries go up.
void normalise(int64_t& d0, int64_t& d1, int64_t& d2) {
  int64_t c = floor_div_2_32(d2);
  d2 -= c * (int64_t{1} << 32);
  d1 += c;
  c = floor_div_2_32(d1);
  d1 -= c * (int64_t{1} << 32);
  d0 += c;
}

}  // namespace

int FixedPointSums::exponent_above(double bound) {
  if (!(bound >= 0) || !std::isfinite(bound)) throw Error("internal: fixed-point bound must be finite and >= 0");
  if (bound == 0) return kMinExponent;
  int e = 0;
  const double m = std::frexp(bound, &e);   // bound = m · 2^e, m in [0.5, 1)
  (void)m;
  return std::max(e, kMinExponent);
}

FixedPointSums::FixedPointSums(const std::vector<Group>& groups) {
  for (const Group& g : groups) {
    if (g.count < 0) throw Error("internal: fixed-point group with a negative count");
    const int e = std::max(g.exponent, kMinExponent);
    if (e > 1023) throw Error("internal: fixed-point bound beyond the double range");
    spans_.push_back({size_, size_ + g.count, e, std::ldexp(1.0, 32 - e), std::ldexp(1.0, e - 64)});
    size_ += g.count;
  }
  digits_.assign(static_cast<size_t>(kDigits * size_), 0.0);
}

const FixedPointSums::Span& FixedPointSums::span_of(int64_t first, int64_t n) const {
  for (const Span& s : spans_)
    if (first >= s.begin && first + n <= s.end) return s;
  throw Error("internal: fixed-point terms outside one group");
}

void FixedPointSums::add(int64_t first, const double* x, int64_t n) {
  if (n <= 0) return;
  const Span& span = span_of(first, n);
  double* d0 = digits_.data() + first;
  double* d1 = d0 + size_;
  double* d2 = d1 + size_;
  const double scale = span.scale;
  for (int64_t j = 0; j < n; ++j) {
    double s = x[j] * scale;                       // exact: a power of two; |s| <= 2^32 within the bound
    const double a = (s + kRoundMagic) - kRoundMagic;
    s = (s - a) * kTwo32;                          // exact: |s - a| <= 1/2 and a is s's nearest integer
    const double b = (s + kRoundMagic) - kRoundMagic;
    s = (s - b) * kTwo32;
    const double c = (s + kRoundMagic) - kRoundMagic;   // the rest, below 2^(exponent - 96), is dropped
    d0[j] += a;
    d1[j] += b;
    d2[j] += c;
  }
  // The bound is checked in a loop of its own: inside the one above it would keep that loop from
  // vectorising (measured: 1.7 ns per term with it, 1.1 ns with this separate pass).
  int64_t bad = 0;
  for (int64_t j = 0; j < n; ++j) bad += !(std::abs(x[j] * scale) <= kTwo32);   // also NaN
  if (bad > 0) ++rejected_;   // the digits are garbage now; allreduce() throws
  if (++pending_ >= kCallsBetweenCarries) propagate_carries();
}

void FixedPointSums::propagate_carries() {
  double* d0 = digits_.data();
  double* d1 = d0 + size_;
  double* d2 = d1 + size_;
  for (int64_t k = 0; k < size_; ++k) {
    double c = std::floor(d2[k] * kTwoMinus32);   // every step exact: integers below 2^53, powers of two
    d2[k] -= c * kTwo32;
    d1[k] += c;
    c = std::floor(d1[k] * kTwoMinus32);
    d1[k] -= c * kTwo32;
    d0[k] += c;
    if (!(std::abs(d0[k]) < kTopDigitLimit)) too_large_ = true;
  }
  pending_ = 0;
}

void FixedPointSums::allreduce(MPI_Comm comm) {
  // Digits spoilt by a bad term may be NaN, which must not reach the int64 conversion below.
  if (rejected_ > 0) std::fill(digits_.begin(), digits_.end(), 0.0);
  propagate_carries();
  int64_t flags[2] = {rejected_, too_large_ ? 1 : 0};
  std::vector<int64_t> buffer;
  for (int64_t begin = 0; begin == 0 || begin < size_; begin += kSumsPerReduction) {
    const int64_t n = std::min(kSumsPerReduction, size_ - begin);
    // Sum-major, so that one message holds all digits of its sums; the two flags ride along.
    buffer.assign(static_cast<size_t>(kDigits * n + 2), 0);
    for (int64_t k = 0; k < n; ++k)
      for (int j = 0; j < kDigits; ++j)
        buffer[static_cast<size_t>(kDigits * k + j)] = static_cast<int64_t>(digits_[static_cast<size_t>(j * size_ + begin + k)]);
    if (begin == 0) {
      buffer[static_cast<size_t>(kDigits * n)] = flags[0];
      buffer[static_cast<size_t>(kDigits * n + 1)] = flags[1];
    }
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_INT64_T, MPI_SUM, comm);
    if (begin == 0) {
      flags[0] = buffer[static_cast<size_t>(kDigits * n)];
      flags[1] = buffer[static_cast<size_t>(kDigits * n + 1)];
    }
    for (int64_t k = 0; k < n; ++k) {
      int64_t* d = buffer.data() + kDigits * k;
      normalise(d[0], d[1], d[2]);
      if (!(std::abs(static_cast<double>(d[0])) < kTopDigitLimit)) flags[1] = 1;
      for (int j = 0; j < kDigits; ++j) digits_[static_cast<size_t>(j * size_ + begin + k)] = static_cast<double>(d[j]);
    }
    if (size_ == 0) break;
  }
  // The flags are global sums, so every rank throws alike.
  if (flags[0] > 0)
    throw Error(cat("internal: ", flags[0], " add(s) to a reproducible sum had a term beyond its bound or not finite"));
  if (flags[1] > 0) throw Error("internal: a reproducible sum outgrew 2^20 times its bound");
}

double FixedPointSums::value(int64_t k) const {
  const Span& span = span_of(k, 1);
  int64_t d[kDigits];
  for (int j = 0; j < kDigits; ++j) d[j] = static_cast<int64_t>(digits_[static_cast<size_t>(j * size_ + k)]);
  normalise(d[0], d[1], d[2]);
  const bool negative = d[0] < 0;
  if (negative) {
    // The magnitude, with digits in [0, 2^32) again: then the three parts below add without
    // cancellation and the rounding stays within 2 ulp.
    for (int64_t& v : d) v = -v;
    normalise(d[0], d[1], d[2]);
  }
  // d0 < 2^52, so d0 · 2^32 is exact; two roundings (low, then the sum), then an exact power of two.
  const double low = static_cast<double>(d[1]) + static_cast<double>(d[2]) * kTwoMinus32;
  const double v = (static_cast<double>(d[0]) * kTwo32 + low) * span.unscale;
  return negative ? -v : v;
}

void FixedPointSums::clear() {
  std::fill(digits_.begin(), digits_.end(), 0.0);
  pending_ = 0;
  rejected_ = 0;
  too_large_ = false;
}

}  // namespace velofield
