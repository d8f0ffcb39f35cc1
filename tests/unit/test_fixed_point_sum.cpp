// The reproducible sums of the SparseVFC M-step (src/vectorfield/fixed_point_sum.hpp): exact on
// terms that lie on the grid however wide their exponent range, the same bits in any order, within
// 2 ulp of the exact sum, and loud when a term breaks its bound.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "test_support.hpp"
#include "vectorfield/fixed_point_sum.hpp"

using namespace velofield;

namespace {

double sum_of(const std::vector<double>& terms, int exponent) {
  FixedPointSums s({{1, exponent}});
  for (double x : terms) s.add(0, &x, 1);
  s.allreduce(MPI_COMM_SELF);
  return s.value(0);
}

// Terms spread over 60 binary orders of magnitude, both signs, below 2^exponent.
std::vector<double> wide_terms(size_t n, int exponent, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::uniform_int_distribution<int> shift(1, 60);
  std::vector<double> t(n);
  for (auto& x : t) x = std::ldexp(u(rng), exponent - shift(rng));
  return t;
}

}  // namespace

TEST(FixedPointSums, ExponentAboveABound) {
  EXPECT_EQ(FixedPointSums::exponent_above(1024), 11);
  EXPECT_EQ(FixedPointSums::exponent_above(1000), 10);
  EXPECT_EQ(FixedPointSums::exponent_above(0.75), 0);
  EXPECT_EQ(FixedPointSums::exponent_above(3e-300), -960);   // clamped: the scale 2^(32 - e) must stay finite
  EXPECT_EQ(FixedPointSums::exponent_above(0), -960);
}

TEST(FixedPointSums, ExactOnTermsOfWideExponentRange) {
  // 2^10 + 2^-60 - 2^10 + 3·2^-70 + 2^9 - 2^9 is 2^-60 + 3·2^-70, a double; summed in doubles
  // left to right everything is lost (2^10 + 2^-60 rounds to 2^10, 2^9 + 3·2^-70 to 2^9).
  const std::vector<double> terms{0x1p10, 0x1p-60, -0x1p10, 3 * 0x1p-70, 0x1p9, -0x1p9};
  double naive = 0;
  for (double x : terms) naive += x;
  EXPECT_EQ(naive, 0.0);
  EXPECT_EQ(sum_of(terms, 11), 0x1p-60 + 3 * 0x1p-70);
  // Terms at the bound itself and at the finest grid step 2^(11 - 96) = 2^-85.
  EXPECT_EQ(sum_of({0x1p11, -0x1p11, 0x1p-85, 0x1p-85}, 11), 0x1p-84);
  // A negative total whose parts sit in all three digits.
  // A negative total with parts in all three digits rounds to the nearest double.
  EXPECT_EQ(sum_of({-0x1p5, -0x1p-40, -0x1p-80}, 11), -(0x1p5 + 0x1p-40));
  EXPECT_EQ(sum_of({-0x1p-40, -0x1p-80, 0x1p-80}, 11), -0x1p-40);
}

TEST(FixedPointSums, SameBitsInAnyOrder) {
  std::vector<double> terms = wide_terms(5000, 3, 11);
  const double reference = sum_of(terms, 3);
  std::mt19937_64 rng(5);
  int naive_differs = 0;
  double first_naive = std::accumulate(terms.begin(), terms.end(), 0.0);
  for (int trial = 0; trial < 20; ++trial) {
    std::shuffle(terms.begin(), terms.end(), rng);
    EXPECT_EQ(sum_of(terms, 3), reference) << "order " << trial;
    naive_differs += std::accumulate(terms.begin(), terms.end(), 0.0) != first_naive;
  }
  // The point of it: plain double sums of these terms do depend on the order.
  EXPECT_GT(naive_differs, 0);
}

TEST(FixedPointSums, WithinTwoUlpOfTheExactSum) {
  // Terms of 20 binary orders of magnitude below 2^20: all multiples of 2^-53, so their exact sum
  // is an integer times 2^-53, summed here in 128-bit integers.
  __extension__ using int128 = __int128;
  for (uint64_t seed : {1, 2, 3}) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    std::uniform_int_distribution<int> shift(1, 20);
    std::vector<double> terms(3000);
    int128 exact = 0;
    for (auto& x : terms) {
      x = std::ldexp(u(rng), 20 - shift(rng));
      exact += static_cast<int128>(std::ldexp(x, 53));
    }
    const long double exact_value = std::ldexp(static_cast<long double>(exact), -53);
    const double got = sum_of(terms, 20);
    const double ulp = std::nextafter(std::abs(got), INFINITY) - std::abs(got);
    EXPECT_LE(std::abs(static_cast<long double>(got) - exact_value), 2 * static_cast<long double>(ulp)) << "seed " << seed;
  }
}

TEST(FixedPointSums, GroupsKeepTheirOwnGridAndClearResets) {
  // Group 0 bounded by 2^0 (grid 2^-96), group 1 by 2^40 (grid 2^-56 ≈ 1.4e-17): 1e-20 is kept in
  // group 0 to half its grid and is below group 1's, so 1e12 + 1e-20 there is exactly 1e12.
  FixedPointSums s({{2, 0}, {1, 40}});
  const double a[2] = {0.5, 1e-20}, b = 1e-20, big = 1e12;
  s.add(0, a, 2);
  s.add(2, &b, 1);
  s.add(2, &big, 1);
  s.allreduce(MPI_COMM_SELF);
  EXPECT_EQ(s.value(0), 0.5);
  EXPECT_NEAR(s.value(1), 1e-20, 0x1p-97);
  EXPECT_NE(s.value(1), 0.0);
  EXPECT_EQ(s.value(2), 1e12);
  s.clear();
  s.allreduce(MPI_COMM_SELF);
  EXPECT_EQ(s.value(0), 0.0);
  EXPECT_EQ(s.value(2), 0.0);
  // A range that crosses two groups is a programming error.
  EXPECT_EQ(test::error_of([&] { s.add(1, a, 2); }), "internal: fixed-point terms outside one group");
}

TEST(FixedPointSums, ATermBeyondItsBoundOrNotFiniteIsAnError) {
  FixedPointSums s({{1, 0}});
  const double over = 1.5, nan = std::nan("");
  s.add(0, &over, 1);
  EXPECT_EQ(test::error_of([&] { s.allreduce(MPI_COMM_SELF); }),
            "internal: 1 add(s) to a reproducible sum had a term beyond its bound or not finite");
  s.clear();
  s.add(0, &nan, 1);
  EXPECT_EQ(test::error_of([&] { s.allreduce(MPI_COMM_SELF); }),
            "internal: 1 add(s) to a reproducible sum had a term beyond its bound or not finite");
}

TEST(FixedPointSums, CarriesKeepTheLowDigitsExact) {
  // 2^23 terms of (2^31 - 1)·2^-96 under the bound 2^0 all land in the lowest digit: without the
  // carries propagated every 2^20 calls it would pass 2^53 and round. The total is a double.
  FixedPointSums s({{1, 0}});
  const double x = (0x1p31 - 1) * 0x1p-96;
  for (int64_t k = 0; k < (int64_t{1} << 23); ++k) s.add(0, &x, 1);
  s.allreduce(MPI_COMM_SELF);
  EXPECT_EQ(s.value(0), (0x1p54 - 0x1p23) * 0x1p-96);
}

TEST(FixedPointSums, ASumBeyondTwoToTheTwentyBoundsIsAnError) {
  FixedPointSums s({{1, 0}});
  const double one = 1;
  for (int64_t k = 0; k < (int64_t{1} << 20) + 5; ++k) s.add(0, &one, 1);
  EXPECT_EQ(test::error_of([&] { s.allreduce(MPI_COMM_SELF); }), "internal: a reproducible sum outgrew 2^20 times its bound");
}
