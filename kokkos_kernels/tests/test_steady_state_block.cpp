#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "steady_state_block.hpp"

using namespace velofield::kernels;

namespace {

// Three genes × n cells of moment-like values (non-negative, many zeros), gene-major.
struct Block {
  int64_t genes = 3, cells = 0;
  std::vector<double> s, u, ss, us;
  explicit Block(int64_t n, unsigned seed = 7) : cells(n) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> x(0, 1);
    for (int64_t k = 0; k < genes * n; ++k) {
      const double a = x(rng) < 0.3 ? 0.0 : 5 * x(rng), b = x(rng) < 0.4 ? 0.0 : 2 * x(rng);
      s.push_back(a);
      u.push_back(b);
      ss.push_back(a * a + a * x(rng));
      us.push_back(a * b * x(rng));
    }
  }
  // Cells [first, first + count) of every gene as their own gene-major block (another rank's share).
  std::vector<double> part(const std::vector<double>& v, int64_t first, int64_t count) const {
    std::vector<double> out;
    for (int64_t g = 0; g < genes; ++g) out.insert(out.end(), v.begin() + g * cells + first, v.begin() + g * cells + first + count);
    return out;
  }
};

const std::vector<double> kNormS{5, 5, 5}, kNormU{2, 2, 2};

std::vector<double> scores(const Block& b) {
  std::vector<double> q(static_cast<size_t>(3 * b.cells)), scales(3 * kScoreTerms, 0.0);
  std::vector<int64_t> sums(3 * 2 * kScoreTerms);
  std::vector<ScoreRange> ranges(3);
  extreme_scores(MomentBlock{3, b.cells, b.s.data(), b.u.data()}, kNormS.data(), kNormU.data(), scales.data(), q.data(), sums.data(),
                 ranges.data());
  return q;
}

}  // namespace

TEST(SteadyStateBlock, ScoresAndAllCellSums) {
  Block b(20000);
  const std::vector<double> ns{4.0, 1e-3, 2.5}, nu{2.0, 3.0, 1e-3};
  std::vector<double> q(static_cast<size_t>(3 * b.cells)), scales(3 * kScoreTerms);
  std::vector<int> expo(3 * kScoreTerms);
  for (int k = 0; k < 3 * kScoreTerms; ++k) {
    expo[k] = fixed_point_exponent(100.0);   // u² <= 4, us <= 10, s² <= 25, u <= 2
    scales[k] = fixed_point_scale(expo[k]);
  }
  std::vector<int64_t> sums(3 * 2 * kScoreTerms);
  std::vector<ScoreRange> ranges(3);
  b.s[5] = -10;   // gene 0: one negative score
  extreme_scores(MomentBlock{3, b.cells, b.s.data(), b.u.data()}, ns.data(), nu.data(), scales.data(), q.data(), sums.data(), ranges.data());
  for (int64_t g = 0; g < 3; ++g) {
    int64_t negative = 0, zero = 0;
    double min_positive = INFINITY, max = -INFINITY;
    for (int64_t i = 0; i < b.cells; ++i) {
      const double x = q[g * b.cells + i];
      negative += x < 0;
      zero += x == 0;
      if (x > 0) min_positive = std::min(min_positive, x);
      max = std::max(max, x);
    }
    EXPECT_EQ(ranges[g].negative, negative);
    EXPECT_EQ(ranges[g].zero, zero);
    EXPECT_EQ(ranges[g].min_positive, min_positive);
    EXPECT_EQ(ranges[g].max, max);
    EXPECT_GT(zero, 1000);
    EXPECT_EQ(negative, g == 0 ? 1 : 0);
    long double ref[kScoreTerms] = {};
    for (int64_t i = 0; i < b.cells; ++i) {
      const int64_t k = g * b.cells + i;
      ASSERT_EQ(q[k], b.s[k] / ns[g] + b.u[k] / nu[g]);   // dynamo's expression, to the bit
      ref[0] += b.u[k] * b.u[k];
      ref[1] += b.u[k] * b.s[k];
      ref[2] += b.s[k] * b.s[k];
      ref[3] += b.u[k];
    }
    for (int t = 0; t < kScoreTerms; ++t) {
      const int64_t* r = &sums[(g * kScoreTerms + t) * 2];
      EXPECT_NEAR(fixed_point_value(r[0], r[1], expo[g * kScoreTerms + t]), static_cast<double>(ref[t]),
                  1e-12 * static_cast<double>(ref[t]));
    }
  }
}

TEST(SteadyStateBlock, OrderKeysPreserveOrderAndRoundTrip) {
  const std::vector<double> v{-1e300, -2.5, -1e-300, 0.0, 1e-310, 0.5, 1.0, 3.0, 1e300};
  for (size_t i = 0; i + 1 < v.size(); ++i) EXPECT_LT(score_key(v[i]), score_key(v[i + 1]));
  for (double x : v) EXPECT_EQ(score_of_key(score_key(x)), x);
  EXPECT_EQ(score_key(-0.0), score_key(0.0));
}

TEST(SteadyStateBlock, RadixRoundsFindTheKthSmallestAndItsSuccessor) {
  Block b(30000, 11);
  const std::vector<double> q = scores(b);
  const int64_t k = 28000;   // an upper-tail order statistic, with many ties at 0 below it
  std::vector<uint64_t> prefix(3, 0);
  std::vector<int64_t> target(3, k), hist(3 * kRadixBins);
  for (int round = 0; round < 64 / kRadixBits; ++round) {
    const std::vector<int> bits(3, round * kRadixBits);
    score_radix_histogram(3, b.cells, q.data(), prefix.data(), bits.data(), hist.data());
    const int shift = 64 - (round + 1) * kRadixBits;
    for (int g = 0; g < 3; ++g) {
      int64_t below = 0;
      int d = 0;
      while (below + hist[g * kRadixBins + d] <= target[g]) below += hist[g * kRadixBins + d++];
      target[g] -= below;
      prefix[g] |= static_cast<uint64_t>(d) << shift;
    }
  }
  std::vector<uint64_t> above(3);
  const std::vector<int> full(3, 64);
  score_bucket(3, b.cells, q.data(), prefix.data(), full.data(), nullptr, above.data(), nullptr);
  for (int64_t g = 0; g < 3; ++g) {
    std::vector<double> sorted(q.begin() + g * b.cells, q.begin() + (g + 1) * b.cells);
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(score_of_key(prefix[g]), sorted[k]) << "gene " << g;
    const auto range = std::equal_range(sorted.begin(), sorted.end(), sorted[k]);
    const int64_t copies = hist[g * kRadixBins + static_cast<int64_t>(prefix[g] & (kRadixBins - 1))];   // the last round's bucket
    EXPECT_EQ(copies, range.second - range.first);
    ASSERT_NE(range.second, sorted.end());
    EXPECT_EQ(score_of_key(above[g]), *range.second);
  }
}

TEST(SteadyStateBlock, BucketValuesComeOutGeneByGene) {
  Block b(20000, 13);
  const std::vector<double> q = scores(b);
  // The 12-bit bucket of each gene's value in cell 17 (sign, exponent, one mantissa bit).
  std::vector<uint64_t> prefix(3);
  for (int g = 0; g < 3; ++g) prefix[g] = score_key(q[g * b.cells + 17]);
  const uint64_t mask = ~uint64_t{0} << 52;
  std::vector<int64_t> counts(3, 0);
  std::vector<double> want;
  std::vector<uint64_t> expect_above(3, ~uint64_t{0});
  for (int g = 0; g < 3; ++g) {
    for (int64_t i = 0; i < b.cells; ++i) {
      const uint64_t key = score_key(q[g * b.cells + i]);
      if ((key & mask) == (prefix[g] & mask)) {
        want.push_back(q[g * b.cells + i]);
        ++counts[g];
      } else if (key > (prefix[g] | ~mask)) {
        expect_above[g] = std::min(expect_above[g], key);
      }
    }
    EXPECT_GT(counts[g], 1);
    std::sort(want.end() - counts[g], want.end());
  }
  std::vector<uint64_t> above(3);
  std::vector<double> values(want.size());
  const std::vector<int> twelve(3, 12);
  score_bucket(3, b.cells, q.data(), prefix.data(), twelve.data(), counts.data(), above.data(), values.data());
  EXPECT_EQ(above, expect_above);
  // Gene after gene; the order within a gene is unspecified.
  for (int g = 0, at = 0; g < 3; at += static_cast<int>(counts[g]), ++g) std::sort(values.begin() + at, values.begin() + at + counts[g]);
  EXPECT_EQ(values, want);
}

TEST(SteadyStateBlock, ExtremeCellsListedAndTheirSumsSplitInvariant) {
  Block b(25000, 3);
  const std::vector<double> q = scores(b);
  std::vector<ExtremeTails> tails(3);
  for (auto& t : tails) t.upper = 1.2;
  tails[2].use_lower = 1;   // both tails on the last gene
  tails[2].lower = 0.05;
  // The extreme cells and their moments, over all cells at once and over two halves (two ranks).
  struct Listed {
    std::vector<int64_t> offsets, cells;
    std::vector<double> s, u, ss, us;
  };
  auto list = [&](int64_t first, int64_t count) {
    const std::vector<double> s = b.part(b.s, first, count), u = b.part(b.u, first, count), qq = b.part(q, first, count);
    const MomentBlock m{3, count, s.data(), u.data()};
    std::vector<int64_t> counts(3, 0);
    for (int64_t g = 0; g < 3; ++g)
      for (int64_t i = 0; i < count; ++i) {
        const double x = qq[static_cast<size_t>(g * count + i)];
        counts[static_cast<size_t>(g)] += x >= tails[g].upper || (tails[g].use_lower && x <= tails[g].lower);
      }
    Listed l;
    l.offsets = {0, counts[0], counts[0] + counts[1], counts[0] + counts[1] + counts[2]};
    l.cells.resize(static_cast<size_t>(l.offsets[3]));
    l.s.resize(l.cells.size());
    l.u.resize(l.cells.size());
    extreme_cells(m, qq.data(), tails.data(), counts.data(), l.cells.data(), l.s.data(), l.u.data());
    for (int64_t g = 0; g < 3; ++g) {   // the order within a gene is unspecified: cell order, with s and u along
      std::vector<std::pair<int64_t, std::pair<double, double>>> z;
      for (int64_t k = l.offsets[g]; k < l.offsets[g + 1]; ++k) z.push_back({l.cells[k], {l.s[k], l.u[k]}});
      std::sort(z.begin(), z.end());
      for (int64_t k = l.offsets[g]; k < l.offsets[g + 1]; ++k) {
        l.cells[k] = z[k - l.offsets[g]].first;
        l.s[k] = z[k - l.offsets[g]].second.first;
        l.u[k] = z[k - l.offsets[g]].second.second;
        EXPECT_EQ(l.s[k], b.s[g * b.cells + first + l.cells[k]]);
      }
    }
    for (int64_t g = 0; g < 3; ++g)
      for (int64_t k = l.offsets[g]; k < l.offsets[g + 1]; ++k) {
        l.ss.push_back(b.ss[g * b.cells + first + l.cells[k]]);
        l.us.push_back(b.us[g * b.cells + first + l.cells[k]]);
      }
    return l;
  };
  const Listed all = list(0, b.cells), one = list(0, 9001), two = list(9001, b.cells - 9001);
  std::vector<FitGeneParams> params(3);
  for (auto& p : params)
    for (double& sc : p.scale) sc = fixed_point_scale(fixed_point_exponent(1000.0));
  auto sums = [&](const Listed& l) {
    std::vector<int64_t> out(3 * kFitSumWidth);
    steady_state_sums(ExtremeBlock{3, l.offsets.data(), l.s.data(), l.u.data(), l.ss.data(), l.us.data()}, FitPass::gmm_moments,
                      params.data(), out.data());
    return out;
  };
  const auto s_all = sums(all), s_one = sums(one), s_two = sums(two);
  for (size_t k = 0; k < s_all.size(); ++k) EXPECT_EQ(s_all[k], s_one[k] + s_two[k]) << k;
  const int e = fixed_point_exponent(1000.0);
  for (int64_t g = 0; g < 3; ++g) {
    std::vector<int64_t> want;
    long double ref[kFitTerms] = {};
    for (int64_t i = 0; i < b.cells; ++i) {
      const double x = q[g * b.cells + i];
      if (!(x >= tails[g].upper || (tails[g].use_lower && x <= tails[g].lower))) continue;
      want.push_back(i);
      const int64_t k = g * b.cells + i;
      const double s = b.s[k], u = b.u[k], y2 = u + 2 * b.us[k], x2 = 2 * b.ss[k] - s;
      const double terms[kFitTerms] = {u * s, s * s, y2 * x2, x2 * x2, u, s, y2, x2};
      for (int t = 0; t < kFitTerms; ++t) ref[t] += terms[t];
    }
    EXPECT_EQ(std::vector<int64_t>(all.cells.begin() + all.offsets[g], all.cells.begin() + all.offsets[g + 1]), want);
    EXPECT_GT(want.size(), 100u);
    for (int t = 0; t < kFitTerms; ++t)
      EXPECT_NEAR(fixed_point_value(s_all[g * kFitSumWidth + 2 * t], s_all[g * kFitSumWidth + 2 * t + 1], e), static_cast<double>(ref[t]),
                  1e-12 * std::fabs(static_cast<double>(ref[t])) + 1e-9)
          << "gene " << g << " term " << t;
  }
}

TEST(SteadyStateBlock, SpreadAndOlsPassesMatchSerialLoops) {
  Block b(5000, 5);
  const std::vector<int64_t> offsets{0, 5000, 10000, 15000};   // every cell listed
  std::vector<FitGeneParams> p(3);
  for (auto& g : p) {
    g.k1 = 0.4;
    g.k2 = 0.7;
    g.c1 = 0.05;
    g.c2 = -0.2;
    for (double& sc : g.scale) sc = fixed_point_scale(fixed_point_exponent(1e4));
  }
  const ExtremeBlock xb{3, offsets.data(), b.s.data(), b.u.data(), b.ss.data(), b.us.data()};
  std::vector<int64_t> spread(3 * kFitSumWidth), ols(3 * kFitSumWidth);
  steady_state_sums(xb, FitPass::residual_spread, p.data(), spread.data());
  const ExtremeBlock first_moments{3, offsets.data(), b.s.data(), b.u.data(), nullptr, nullptr};
  steady_state_sums(first_moments, FitPass::ols_moments, p.data(), ols.data());
  const int e = fixed_point_exponent(1e4);
  for (int g = 0; g < 3; ++g) {
    long double d1 = 0, d2 = 0, us = 0, s2 = 0;
    for (int64_t i = 0; i < b.cells; ++i) {
      const int64_t k = g * b.cells + i;
      const double s = b.s[k], u = b.u[k], y2 = u + 2 * b.us[k], x2 = 2 * b.ss[k] - s;
      d1 += (u - 0.4 * s - 0.05) * (u - 0.4 * s - 0.05);
      d2 += (y2 - 0.7 * x2 + 0.2) * (y2 - 0.7 * x2 + 0.2);
      us += u * s;
      s2 += s * s;
    }
    const int64_t* c = &spread[g * kFitSumWidth];
    EXPECT_NEAR(fixed_point_value(c[0], c[1], e), static_cast<double>(d1), 1e-9);
    EXPECT_NEAR(fixed_point_value(c[2], c[3], e), static_cast<double>(d2), 1e-9);
    const int64_t* o = &ols[g * kFitSumWidth];
    EXPECT_NEAR(fixed_point_value(o[0], o[1], e), static_cast<double>(us), 1e-9);
    EXPECT_NEAR(fixed_point_value(o[2], o[3], e), static_cast<double>(s2), 1e-9);
  }
}

TEST(SteadyStateBlock, EmptyBlocksAreHarmless) {
  const MomentBlock none{2, 0, nullptr, nullptr};
  std::vector<int64_t> hist(2 * kRadixBins, 7), sums(2 * kFitSumWidth, 7), counts(2, 7), score_sums(2 * 2 * kScoreTerms, 7);
  std::vector<uint64_t> prefix(2, 0), above(2, 0);
  std::vector<double> norms{1, 1}, scales(2 * kScoreTerms, 1.0);
  std::vector<ScoreRange> ranges(2);
  extreme_scores(none, norms.data(), norms.data(), scales.data(), nullptr, score_sums.data(), ranges.data());
  EXPECT_EQ(ranges[0].zero, 0);
  EXPECT_EQ(*std::max_element(score_sums.begin(), score_sums.end()), 0);
  const std::vector<int> bits(2, 0);
  score_radix_histogram(2, 0, nullptr, prefix.data(), bits.data(), hist.data());
  EXPECT_EQ(*std::max_element(hist.begin(), hist.end()), 0);
  score_bucket(2, 0, nullptr, prefix.data(), bits.data(), nullptr, above.data(), nullptr);
  EXPECT_EQ(above[0], ~uint64_t{0});
  std::vector<ExtremeTails> tails(2);
  const std::vector<int64_t> no_cells(2, 0);
  extreme_cells(none, nullptr, tails.data(), no_cells.data(), nullptr, nullptr, nullptr);
  const std::vector<int64_t> offsets{0, 0, 0};
  std::vector<FitGeneParams> p(2);
  steady_state_sums(ExtremeBlock{2, offsets.data(), nullptr, nullptr, nullptr, nullptr}, FitPass::gmm_moments, p.data(), sums.data());
  EXPECT_EQ(*std::max_element(sums.begin(), sums.end()), 0);
}
