#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "csr_row_stats.hpp"

using velofield::kernels::csr_row_stats;

TEST(CsrRowStats, SumsAndNonzerosOfCleanCounts) {
  // [[1 0 2], [0 0 0], [0 5 0], [3 3 0]] with an explicit zero stored in row 2
  std::vector<int64_t> indptr{0, 2, 2, 4, 6};
  std::vector<float> values{1, 2, 5, 0, 3, 3};
  std::vector<double> sum(4);
  std::vector<int64_t> nnz(4);
  auto a = csr_row_stats<float>(4, indptr.data(), values.data(), sum.data(), nnz.data());
  EXPECT_EQ(a.non_finite + a.negative + a.non_integer, 0);
  EXPECT_EQ(a.first_bad_row, -1);
  EXPECT_EQ(sum, (std::vector<double>{3, 0, 5, 6}));
  EXPECT_EQ(nnz, (std::vector<int64_t>{2, 0, 1, 2}));
}

TEST(CsrRowStats, FindsEachKindOfAnomalyAndTheFirstBadRow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<int64_t> indptr{0, 1, 3, 5, 6};
  std::vector<double> values{4, nan, -2, 1.5, inf, 7};
  std::vector<double> sum(4);
  std::vector<int64_t> nnz(4);
  auto a = csr_row_stats<double>(4, indptr.data(), values.data(), sum.data(), nnz.data());
  EXPECT_EQ(a.non_finite, 2);
  EXPECT_EQ(a.negative, 1);
  EXPECT_EQ(a.non_integer, 1);
  EXPECT_EQ(a.first_bad_row, 1);
  EXPECT_DOUBLE_EQ(sum[0], 4);
  EXPECT_DOUBLE_EQ(sum[3], 7);
}

TEST(CsrRowStats, LargeRandomMatrixMatchesSerialLoop) {
  const int64_t rows = 5000;
  std::vector<int64_t> indptr(rows + 1, 0);
  std::vector<float> values;
  uint64_t state = 12345;
  auto next = [&] { state = state * 6364136223846793005ULL + 1442695040888963407ULL; return state >> 33; };
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t k = static_cast<int64_t>(next() % 40);
    for (int64_t j = 0; j < k; ++j) values.push_back(static_cast<float>(next() % 9));
    indptr[r + 1] = static_cast<int64_t>(values.size());
  }
  std::vector<double> sum(rows);
  std::vector<int64_t> nnz(rows);
  auto a = csr_row_stats<float>(rows, indptr.data(), values.data(), sum.data(), nnz.data());
  EXPECT_EQ(a.first_bad_row, -1);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    int64_t n = 0;
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k) { s += values[k]; n += values[k] != 0; }
    ASSERT_EQ(sum[r], s) << "row " << r;
    ASSERT_EQ(nnz[r], n) << "row " << r;
  }
}
