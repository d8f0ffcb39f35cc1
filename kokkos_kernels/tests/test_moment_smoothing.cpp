#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "moment_smoothing.hpp"

using velofield::kernels::moment_smoothing;

TEST(MomentSmoothing, FiveMomentsOfAHandGraph) {
  // Three source rows (u, s), two genes; output row 0 weighs rows {0, 2} by 1/4 and 3/4 (not
  // uniform), row 1 is row 1 alone.
  const std::vector<double> u = {1, 2, 3, 4, 5, 6};
  const std::vector<double> s = {2, 0, 1, 1, 4, 2};
  const std::vector<int64_t> indptr = {0, 2, 3}, cols = {0, 2, 1};
  const std::vector<double> w = {0.25, 0.75, 1.0};
  std::vector<double> mu(4), ms(4), muu(4), mus(4), mss(4);
  moment_smoothing<double>(2, indptr.data(), cols.data(), w.data(), 3, 2, u.data(), s.data(), 2, mu.data(), ms.data(), muu.data(),
                   mus.data(), mss.data());
  EXPECT_EQ(mu, (std::vector<double>{4, 5, 3, 4}));
  EXPECT_EQ(ms, (std::vector<double>{3.5, 1.5, 1, 1}));
  EXPECT_EQ(muu, (std::vector<double>{19, 28, 9, 16}));
  EXPECT_EQ(mus, (std::vector<double>{15.5, 9, 3, 4}));
  EXPECT_EQ(mss, (std::vector<double>{13, 3, 1, 1}));
}

TEST(MomentSmoothing, FirstMomentsOnlyAndARandomGraphAgainstALoop) {
  const int64_t rows = 300, sources = 450, width = 77;   // more than one 64-column block
  uint64_t state = 99;
  auto next = [&] { state = state * 6364136223846793005ULL + 1442695040888963407ULL; return state >> 33; };
  std::vector<double> u(static_cast<size_t>(sources * width)), s(u.size());
  for (auto& v : u) v = static_cast<double>(next() % 100) / 7.0;
  for (auto& v : s) v = static_cast<double>(next() % 100) / 3.0;
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> w;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t deg = 1 + static_cast<int64_t>(next() % 40);
    for (int64_t k = 0; k < deg; ++k) {
      cols.push_back(static_cast<int64_t>(next() % sources));
      w.push_back(1.0 / static_cast<double>(deg));
    }
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  // Written into a wider matrix (stride 100, columns from 0): the rest must stay untouched.
  const int64_t stride = 100;
  std::vector<double> mu(static_cast<size_t>(rows * stride), -7.0), ms(mu.size(), -7.0);
  moment_smoothing<double>(rows, indptr.data(), cols.data(), w.data(), sources, width, u.data(), s.data(), stride, mu.data(), ms.data(),
                   nullptr, nullptr, nullptr);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < width; ++c) {
      double a = 0, b = 0;
      for (int64_t k = indptr[static_cast<size_t>(i)]; k < indptr[static_cast<size_t>(i + 1)]; ++k) {
        a += w[static_cast<size_t>(k)] * u[static_cast<size_t>(cols[static_cast<size_t>(k)] * width + c)];
        b += w[static_cast<size_t>(k)] * s[static_cast<size_t>(cols[static_cast<size_t>(k)] * width + c)];
      }
      // Same order of terms; NEAR only because a GPU compiler may fuse multiply-adds.
      ASSERT_NEAR(mu[static_cast<size_t>(i * stride + c)], a, 1e-12 * (1 + a));
      ASSERT_NEAR(ms[static_cast<size_t>(i * stride + c)], b, 1e-12 * (1 + b));
    }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = width; c < stride; ++c) ASSERT_EQ(mu[static_cast<size_t>(i * stride + c)], -7.0);
}

TEST(MomentSmoothing, SinglePrecisionAgreesWithDouble) {
  // A uniform moment-matrix row (the fast path) and a weighted one, four genes.
  const std::vector<int64_t> indptr = {0, 3, 5}, cols = {0, 1, 2, 0, 2};
  const std::vector<double> w = {1.0 / 3, 1.0 / 3, 1.0 / 3, 0.1, 0.9};
  const std::vector<double> u = {1.5, 0, 2.25, 7, 3, 1, 0.5, 0, 2, 2, 2, 9.75};
  const std::vector<double> s = {0.1, 4, 0, 1, 3.5, 2, 1, 0, 8, 0.25, 6, 1};
  std::vector<double> d[5];
  std::vector<float> f[5];
  for (auto& v : d) v.assign(8, 0);
  for (auto& v : f) v.assign(8, 0);
  const std::vector<float> uf(u.begin(), u.end()), sf(s.begin(), s.end());
  moment_smoothing<double>(2, indptr.data(), cols.data(), w.data(), 3, 4, u.data(), s.data(), 4, d[0].data(), d[1].data(), d[2].data(),
                           d[3].data(), d[4].data());
  moment_smoothing<float>(2, indptr.data(), cols.data(), w.data(), 3, 4, uf.data(), sf.data(), 4, f[0].data(), f[1].data(), f[2].data(),
                          f[3].data(), f[4].data());
  // Row 0, gene 0 of M_u by hand: (1.5 + 3 + 2) / 3.
  EXPECT_NEAR(d[0][0], 6.5 / 3, 1e-15);
  for (int o = 0; o < 5; ++o)
    for (int k = 0; k < 8; ++k) EXPECT_NEAR(f[o][static_cast<size_t>(k)], d[o][static_cast<size_t>(k)], 1e-6 * (1 + std::fabs(d[o][static_cast<size_t>(k)])));
}
