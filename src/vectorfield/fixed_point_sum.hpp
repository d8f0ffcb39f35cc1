#pragma once
// Sums of doubles that do not depend on the order of the terms or on how they are split among
// ranks: every term is cut, exactly, into three 32-bit integer digits on a fixed binary grid, and
// integer addition is associative. (The idea of ReproBLAS' binned sums; written from scratch.)
//
// Each sum belongs to a group with a bound: every term added to it satisfies |x| <= 2^exponent.
// A term is represented to 2^(exponent - 96), i.e. to about 1e-29 of the bound (rounded to nearest
// there; below it is dropped): far finer than the double rounding of the terms themselves, so the
// result is the exact sum of the terms to ~1 ulp, and a deterministic function of them.
//
// Conversion is pure floating-point (power-of-two scalings and round-to-nearest by a magic
// constant), so it vectorises; the digits are kept in doubles, which hold integers exactly below
// 2^53: the carries are propagated every 2^20 add() calls, and a sum may reach 2^20 times its
// bound (checked; the fit's sums have one term per chunk of cells).
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace velofield {

class FixedPointSums {
 public:
  struct Group {
    int64_t count;   // consecutive sums
    int exponent;    // every term added to them satisfies |x| <= 2^exponent
  };
  explicit FixedPointSums(const std::vector<Group>& groups);

  int64_t size() const { return size_; }
  // x[j] is a term of sum first + j, for j < n; [first, first + n) must lie within one group.
  void add(int64_t first, const double* x, int64_t n);
  // Collective: every rank's digits are added (exact int64 MPI_SUM); afterwards every rank holds
  // the sums of all ranks' terms. Throws velofield::Error on every rank if any rank was given a term
  // outside its group's bound (or not finite).
  void allreduce(MPI_Comm comm);
  // The sum, rounded to double (within 2 ulp of the exact value of the digits). Deterministic.
  double value(int64_t k) const;
  // Every sum back to 0 (the groups stay).
  void clear();

  // An exponent e with bound < 2^e <= 2·bound (bound > 0, finite; a tiny one for bound = 0).
  static int exponent_above(double bound);

 private:
  static constexpr int kDigits = 3;
  struct Span {
    int64_t begin, end;
    int exponent;
    double scale;   // 2^(32 - exponent): a term times this has |.| <= 2^32
    double unscale; // 2^(exponent - 64): the weight of the middle digit
  };
  const Span& span_of(int64_t first, int64_t n) const;

  std::vector<Span> spans_;
  int64_t size_ = 0;
  std::vector<double> digits_;   // kDigits × size_, digit-major: digit j of sum k at j·size_ + k
  int64_t pending_ = 0;          // add() calls since the carries were last propagated
  int64_t rejected_ = 0;         // add() calls with a term outside its bound since clear()
  bool too_large_ = false;       // a sum outgrew 2^20 times its bound

  void propagate_carries();
};

}  // namespace velofield
