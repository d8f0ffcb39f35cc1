// The extreme-cell threshold of `dynamics`: numpy's percentile (method 'linear', the one dynamo's
// np.percentile call uses), computed exactly over cells spread across ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/partition.hpp"
#include "test_support.hpp"
#include "velocity/distributed_percentile.hpp"

using namespace velofield;

TEST(DynamicsPercentile, NumpyLinearDefinitionToTheBit) {
  // Values printed by numpy 1.24 (the version of the reference run): np.percentile(v, p).
  const std::vector<double> seven{0.1, 0.7, 0.3, 0.9, 0.2, 0.8, 0.25};
  const std::vector<double> eleven{0.1, 0.7, 0.3, 0.9, 0.2, 0.8, 0.25, 0.33, 0.61, 0.05, 0.42};
  EXPECT_EQ(numpy_percentile(seven, 95), 0.87);
  EXPECT_EQ(numpy_percentile(seven, 5), 0.13);
  EXPECT_EQ(numpy_percentile(eleven, 95), 0.8500000000000001);   // t = 1/2: numpy's upper form
  EXPECT_EQ(numpy_percentile(eleven, 17.5), 0.17500000000000002);
  // Where numpy's two lerp forms differ in the last bit, on either side of t = 1/2.
  EXPECT_EQ(numpy_percentile({0.117, 0.113, 0.466}, 60), 0.1868);   // t = 0.2: a + (b - a)·t
  const std::vector<double> eighteen{0.675, 0.441, 0.146, 0.693, 0.097, 0.939, 0.752, 0.713, 0.77,
                                     0.864, 0.469, 0.812, 0.11,  0.7,   0.751, 0.211, 0.111, 0.917};
  EXPECT_EQ(numpy_percentile(eighteen, 99), 0.9352599999999999);   // t = 0.83: b - (b - a)·(1 - t)
  std::vector<double> mostly_zero(22, 0.0);
  mostly_zero[4] = 1.5;
  EXPECT_EQ(numpy_percentile(mostly_zero, 95), 0.0);   // more than 95% zeros: threshold 0, every cell extreme
  EXPECT_EQ(numpy_percentile({3.0}, 95), 3.0);
  EXPECT_EQ(numpy_percentile({2.0, 1.0}, 100), 2.0);
}

namespace {
// A value per (gene, global cell) that does not depend on the rank count: many ties and zeros,
// some negatives, some tiny and huge magnitudes.
double value(int64_t gene, int64_t cell) {
  uint64_t h = static_cast<uint64_t>(gene) * 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(cell) * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  switch (gene % 4) {
    case 0: return (h % 10 < 7) ? 0.0 : static_cast<double>(h % 1000) / 997.0;   // 70% zeros
    case 1: return static_cast<double>(h % 5);                                     // five tied values
    case 2: return (static_cast<double>(h % 100000) - 50000) * 1e-300;             // tiny, signed
    default: return std::ldexp(static_cast<double>(h % 1000003), static_cast<int>(h % 200) - 100);
  }
}
}  // namespace

TEST(DynamicsPercentile, DistributedEqualsSortedAtAnyRankCount) {
  const int ranks = test::ranks(), rank = test::rank();
  // Up to 2048 values the selection gathers them all; above, radix rounds come first (to the full key
  // for the tied genes).
  for (int64_t n : {1, 2, 5, 97, 4001, 30011}) {
    const BlockPartition part{n, ranks};
    const int64_t first = part.begin(rank), cells = part.size(rank), genes = 8;
    std::vector<double> local(static_cast<size_t>(genes * cells));
    for (int64_t g = 0; g < genes; ++g)
      for (int64_t i = 0; i < cells; ++i) local[static_cast<size_t>(g * cells + i)] = value(g, first + i);
    // What a score pass knows: signs and the positive range, over all ranks and here.
    std::vector<PercentileHint> hints(static_cast<size_t>(genes));
    for (int64_t g = 0; g < genes; ++g) {
      PercentileHint& h = hints[static_cast<size_t>(g)];
      h.min_positive = INFINITY;
      h.max = -INFINITY;
      for (int64_t i = 0; i < n; ++i) {
        const double x = value(g, i);
        h.negative += x < 0;
        h.zero += x == 0;
        if (x > 0) h.min_positive = std::min(h.min_positive, x);
        h.max = std::max(h.max, x);
        if (i >= first && i < first + cells) {
          h.local_negative += x < 0;
          h.local_zero += x == 0;
        }
      }
    }
    for (double p : {95.0, 5.0, 50.0, 0.0, 100.0, 99.99}) {
      const PercentileResult plain = distributed_percentile(MPI_COMM_WORLD, genes, cells, local.data(), n, p);
      const PercentileResult hinted = distributed_percentile(MPI_COMM_WORLD, genes, cells, local.data(), n, p, hints.data());
      for (int64_t g = 0; g < genes; ++g) {
        std::vector<double> all;
        for (int64_t i = 0; i < n; ++i) all.push_back(value(g, i));
        const double want = numpy_percentile(all, p);
        int64_t ge = 0, le = 0;
        for (int64_t i = 0; i < cells; ++i) {
          ge += value(g, first + i) >= want;
          le += value(g, first + i) <= want;
        }
        for (const PercentileResult* r : {&plain, &hinted}) {
          EXPECT_EQ(r->value[static_cast<size_t>(g)], want) << "n " << n << " p " << p << " gene " << g << (r == &hinted ? " (hinted)" : "");
          EXPECT_EQ(r->local_at_or_above[static_cast<size_t>(g)], ge) << "n " << n << " p " << p << " gene " << g;
          EXPECT_EQ(r->local_at_or_below[static_cast<size_t>(g)], le) << "n " << n << " p " << p << " gene " << g;
        }
      }
    }
  }
}
