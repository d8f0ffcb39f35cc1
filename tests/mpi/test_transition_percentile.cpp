// global_percentile (the self-weight bound ub of the transition matrix is the 98th percentile of a
// value per cell over all cells) equals numpy's percentile of all values in one array, bit for
// bit, at any rank count: duplicates, negative values, zeros (cells without transitions), and
// the ends of the range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/partition.hpp"
#include "test_support.hpp"
#include "transition/global_percentile.hpp"

using namespace velofield;

namespace {

double numpy_percentile(std::vector<double> v, double percent) {
  std::sort(v.begin(), v.end());
  const double h = static_cast<double>(v.size() - 1) * (percent / 100.0);
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= v.size()) return v[lo];
  const double t = h - static_cast<double>(lo), diff = v[lo + 1] - v[lo];
  return t >= 0.5 ? v[lo + 1] - diff * (1 - t) : v[lo] + diff * t;
}

}  // namespace

TEST(TransitionPercentile, EqualsNumpyOnAllValuesAtAnyRankCount) {
  for (int64_t n : {1, 2, 7, 1000, 3696}) {
    std::mt19937_64 rng(static_cast<uint64_t>(n));
    std::vector<double> all(static_cast<size_t>(n));
    for (auto& x : all) {
      const int kind = static_cast<int>(rng() % 4);
      x = kind == 0 ? 0.0 : kind == 1 ? std::ldexp(static_cast<double>(rng() % 1000), -10) : std::uniform_real_distribution<double>(-1, 1)(rng);
    }
    const BlockPartition part{n, test::ranks()};
    const std::vector<double> mine(all.begin() + part.begin(test::rank()), all.begin() + part.end(test::rank()));
    for (double percent : {0.0, 5.0, 50.0, 98.0, 99.99, 100.0}) {
      const double got = global_percentile(mine, n, percent, MPI_COMM_WORLD);
      EXPECT_EQ(got, numpy_percentile(all, percent)) << "n " << n << " percent " << percent;
    }
  }
}
