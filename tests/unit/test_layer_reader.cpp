// LayerReader, through which `dynamics` and `import-velocity` read layers of any storage: the same
// values from dense float32, CSR float64 with sorted rows, CSR with unsorted rows and 64-bit indices,
// and integer values; column blocks left to right, scattered entries, rows; and the column extremes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "velocity/layer_reader.hpp"

using namespace velofield;

namespace {

constexpr int64_t kRows = 11, kCols = 7;

double value(int64_t i, int64_t j) { return (i * 7 + j) % 5 == 0 ? 0.0 : static_cast<double>(i * 10 + j) - 30.0; }

Matrix dense_f32() {
  DenseArray a = DenseArray::zeros({kRows, kCols}, DType::f32);
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t j = 0; j < kCols; ++j) a.values.data<float>()[i * kCols + j] = static_cast<float>(value(i, j));
  return a;
}

// CSR of the nonzeros; `reverse` stores each row's entries in descending column order.
Matrix csr(DType values, DType indices, bool reverse) {
  CsrMatrix m = CsrMatrix::with_shape(kRows, kCols, values);
  std::vector<int64_t> idx;
  std::vector<double> val;
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t jj = 0; jj < kCols; ++jj) {
      const int64_t j = reverse ? kCols - 1 - jj : jj;
      if (value(i, j) == 0) continue;
      idx.push_back(j);
      val.push_back(value(i, j));
    }
    m.indptr[static_cast<size_t>(i + 1)] = static_cast<int64_t>(idx.size());
  }
  m.indices = Array::from(idx).converted(indices);
  m.data = Array::from(val).converted(values);
  return m;
}

}  // namespace

TEST(LayerReader, EveryStorageReadsTheSameValues) {
  const std::vector<Matrix> layers{dense_f32(), csr(DType::f64, DType::i32, false), csr(DType::f32, DType::i64, true),
                                   csr(DType::i32, DType::i32, true)};
  const std::vector<int64_t> cols{0, 2, 3, 6};
  for (size_t l = 0; l < layers.size(); ++l) {
    LayerReader r(layers[l]);
    EXPECT_EQ(r.rows(), kRows);
    EXPECT_EQ(r.cols(), kCols);
    // Two column blocks, left to right, with their extremes.
    for (size_t first = 0; first < cols.size(); first += 2) {
      std::vector<double> out(static_cast<size_t>(2 * kRows), -1.0);
      ColumnExtremes e;
      r.read_columns(cols.data() + first, 2, out.data(), &e);
      for (int64_t j = 0; j < 2; ++j) {
        double mx = std::numeric_limits<double>::lowest(), ma = 0;
        for (int64_t i = 0; i < kRows; ++i) {
          const double want = value(i, cols[first + static_cast<size_t>(j)]);
          EXPECT_EQ(out[static_cast<size_t>(j * kRows + i)], want) << "layer " << l << " row " << i << " col " << cols[first + static_cast<size_t>(j)];
          mx = std::max(mx, want);
          ma = std::max(ma, std::fabs(want));
        }
        EXPECT_EQ(e.max[static_cast<size_t>(j)], mx);
        EXPECT_EQ(e.max_abs[static_cast<size_t>(j)], ma);
        EXPECT_EQ(e.non_finite[static_cast<size_t>(j)], 0);
      }
    }
    // Scattered entries: rows 1 and 4 want columns 2 and 6; row 9 wants column 0.
    LayerReader fresh(layers[l]);
    std::vector<int64_t> indptr(kRows + 1, 0);
    for (int64_t i = 0; i < kRows; ++i) indptr[static_cast<size_t>(i + 1)] = indptr[static_cast<size_t>(i)] + (i == 1 || i == 4 ? 2 : i == 9 ? 1 : 0);
    const std::vector<int64_t> pos{1, 3, 1, 3, 0};
    std::vector<double> got(pos.size());
    fresh.read_entries(indptr.data(), pos.data(), cols.data(), got.data());
    EXPECT_EQ(got, (std::vector<double>{value(1, 2), value(1, 6), value(4, 2), value(4, 6), value(9, 0)})) << "layer " << l;
    // A row.
    std::vector<double> row(cols.size());
    r.read_row(7, cols.data(), static_cast<int64_t>(cols.size()), row.data());
    EXPECT_EQ(row, (std::vector<double>{value(7, 0), value(7, 2), value(7, 3), value(7, 6)})) << "layer " << l;
    EXPECT_EQ(r.value_dtype(), l == 0 ? DType::f32 : l == 2 ? DType::f32 : DType::f64);
  }
}

TEST(LayerReader, NonFiniteValuesAreCountedAndLeftOutOfTheMaxima) {
  DenseArray a = DenseArray::zeros({3, 2}, DType::f64);
  double* v = a.values.data<double>();
  v[0] = 1;
  v[2] = std::nan("");
  v[4] = -7;
  v[1] = std::numeric_limits<double>::infinity();
  const Matrix m = a;
  LayerReader r(m);
  const std::vector<int64_t> cols{0, 1};
  std::vector<double> out(6);
  ColumnExtremes e;
  r.read_columns(cols.data(), 2, out.data(), &e);
  EXPECT_EQ(e.non_finite, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(e.max[0], 1.0);
  EXPECT_EQ(e.max_abs[0], 7.0);
  EXPECT_EQ(e.max[1], 0.0);
}
