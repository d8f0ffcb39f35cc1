#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "knn_tile.hpp"

using velofield::kernels::knn_lists_reset;
using velofield::kernels::knn_tile_update;

namespace {

std::vector<double> random_points(int64_t n, int dim, uint64_t seed) {
  std::vector<double> p(static_cast<size_t>(n * dim));
  uint64_t s = seed;
  for (auto& v : p) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    v = static_cast<double>(s >> 11) / 9007199254740992.0 * 10.0 - 5.0;
  }
  return p;
}

// The k nearest others of every point by sorting all distances (the definition).
std::vector<std::vector<std::pair<double, int64_t>>> by_sorting(const std::vector<double>& p, int64_t n, int dim, int k) {
  std::vector<std::vector<std::pair<double, int64_t>>> out(static_cast<size_t>(n));
  for (int64_t q = 0; q < n; ++q) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t r = 0; r < n; ++r) {
      if (r == q) continue;
      double d2 = 0;
      for (int c = 0; c < dim; ++c) {
        const double diff = p[static_cast<size_t>(q * dim + c)] - p[static_cast<size_t>(r * dim + c)];
        d2 += diff * diff;
      }
      all.emplace_back(d2, r);
    }
    std::sort(all.begin(), all.end());
    all.resize(static_cast<size_t>(k));
    out[static_cast<size_t>(q)] = all;
  }
  return out;
}

}  // namespace

TEST(KnnTile, BlocksInAnyOrderGiveTheSortedNeighbours) {
  const int64_t n = 700;
  const int dim = 7, k = 12;
  auto p = random_points(n, dim, 3);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  const auto truth = by_sorting(p, n, dim, k);
  // Reference blocks of uneven sizes (one larger than the 64-point chunk, one smaller), fed in two orders.
  const std::vector<std::pair<int64_t, int64_t>> blocks = {{0, 150}, {150, 190}, {190, 500}, {500, 700}};
  for (const auto& order : {std::vector<int>{0, 1, 2, 3}, std::vector<int>{3, 1, 0, 2}}) {
    std::vector<double> d2(static_cast<size_t>(n * k));
    std::vector<int64_t> best(static_cast<size_t>(n * k));
    knn_lists_reset(n, k, d2.data(), best.data());
    for (int b : order) {
      const auto [first, last] = blocks[static_cast<size_t>(b)];
      knn_tile_update(n, dim, p.data(), ids.data(), last - first, p.data() + first * dim, first, k, d2.data(), best.data());
    }
    for (int64_t q = 0; q < n; ++q)
      for (int j = 0; j < k; ++j) {
        ASSERT_EQ(best[static_cast<size_t>(q * k + j)], truth[static_cast<size_t>(q)][static_cast<size_t>(j)].second) << q << " " << j;
        ASSERT_NEAR(d2[static_cast<size_t>(q * k + j)], truth[static_cast<size_t>(q)][static_cast<size_t>(j)].first, 1e-12);
      }
  }
}

TEST(KnnTile, EqualDistancesAreOrderedByIdAndSelfIsSkipped) {
  // Points on a line: 0 at x = 0, and pairs at equal distances on both sides of point 3 (x = 3).
  const std::vector<double> p = {0, 1, 2, 3, 4, 5, 3};   // point 6 duplicates point 3
  std::vector<int64_t> ids = {3};
  const int k = 4;
  std::vector<double> d2(k);
  std::vector<int64_t> best(k);
  knn_lists_reset(1, k, d2.data(), best.data());
  // Feed the duplicate first and the rest in reverse to show the order does not matter.
  knn_tile_update(1, 1, &p[3], ids.data(), 1, &p[6], 6, k, d2.data(), best.data());
  knn_tile_update(1, 1, &p[3], ids.data(), 6, p.data(), 0, k, d2.data(), best.data());
  EXPECT_EQ(best, (std::vector<int64_t>{6, 2, 4, 1}));
  EXPECT_EQ(d2, (std::vector<double>{0, 1, 1, 4}));
}

TEST(KnnTile, FewerCandidatesThanKLeaveEmptySlots) {
  const std::vector<double> p = {0, 0, 1, 1};
  std::vector<int64_t> ids = {0, 1};
  const int k = 3;
  std::vector<double> d2(2 * k);
  std::vector<int64_t> best(2 * k);
  knn_lists_reset(2, k, d2.data(), best.data());
  knn_tile_update(2, 2, p.data(), ids.data(), 2, p.data(), 0, k, d2.data(), best.data());
  EXPECT_EQ(best, (std::vector<int64_t>{1, -1, -1, 0, -1, -1}));
  EXPECT_EQ(d2[0], 2.0);
  EXPECT_EQ(d2[1], std::numeric_limits<double>::infinity());
}
