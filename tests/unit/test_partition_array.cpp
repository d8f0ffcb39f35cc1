// BlockPartition, Array (typed buffers and their conversions), CsrMatrix/DenseArray shapes and the
// index dtype thresholds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/partition.hpp"
#include "data/array.hpp"
#include "data/matrix.hpp"

using namespace velofield;

// ---------------------------------------------------------------------------------------------
// BlockPartition

namespace {
void expect_valid_partition(int64_t n, int p) {
  SCOPED_TRACE("n = " + std::to_string(n) + ", p = " + std::to_string(p));
  const BlockPartition part{n, p};
  const int64_t base = n / p, extra = n % p;
  int64_t sum = 0;
  EXPECT_EQ(part.begin(0), 0);
  EXPECT_EQ(part.end(p - 1), n);
  for (int r = 0; r < p; ++r) {
    // The first n % p ranks get one extra item.
    EXPECT_EQ(part.size(r), base + (r < extra ? 1 : 0)) << "rank " << r;
    EXPECT_EQ(part.end(r) - part.begin(r), part.size(r));
    if (r > 0) {
      EXPECT_EQ(part.begin(r), part.end(r - 1)) << "blocks must be contiguous at rank " << r;
    }
    sum += part.size(r);
  }
  EXPECT_EQ(sum, n);
  if (n <= 100000) {
    for (int64_t i = 0; i < n; ++i) {
      const int o = part.owner(i);
      ASSERT_GE(o, 0) << "i = " << i;
      ASSERT_LT(o, p) << "i = " << i;
      ASSERT_GE(i, part.begin(o)) << "i = " << i;
      ASSERT_LT(i, part.end(o)) << "i = " << i;
    }
  } else {
    // Large n: the block boundaries of every rank.
    for (int r = 0; r < p; ++r) {
      if (part.size(r) == 0) continue;
      EXPECT_EQ(part.owner(part.begin(r)), r);
      EXPECT_EQ(part.owner(part.end(r) - 1), r);
    }
  }
}
}  // namespace

TEST(BlockPartition, ExactBlocks) {
  const BlockPartition a{10, 3};
  EXPECT_EQ(a.begin(0), 0);
  EXPECT_EQ(a.begin(1), 4);
  EXPECT_EQ(a.begin(2), 7);
  EXPECT_EQ(a.end(2), 10);
  EXPECT_EQ(a.size(0), 4);
  EXPECT_EQ(a.size(1), 3);
  EXPECT_EQ(a.size(2), 3);
  EXPECT_EQ(a.owner(0), 0);
  EXPECT_EQ(a.owner(3), 0);
  EXPECT_EQ(a.owner(4), 1);
  EXPECT_EQ(a.owner(6), 1);
  EXPECT_EQ(a.owner(7), 2);
  EXPECT_EQ(a.owner(9), 2);

  const BlockPartition pancreas{3696, 3};
  for (int r = 0; r < 3; ++r) EXPECT_EQ(pancreas.size(r), 1232);
  EXPECT_EQ(pancreas.begin(2), 2464);
  EXPECT_EQ(pancreas.owner(2463), 1);
  EXPECT_EQ(pancreas.owner(2464), 2);
}

TEST(BlockPartition, FewerItemsThanRanks) {
  const BlockPartition p{2, 5};
  EXPECT_EQ(p.size(0), 1);
  EXPECT_EQ(p.size(1), 1);
  for (int r = 2; r < 5; ++r) {
    EXPECT_EQ(p.size(r), 0);
    EXPECT_EQ(p.begin(r), 2);
  }
  EXPECT_EQ(p.owner(0), 0);
  EXPECT_EQ(p.owner(1), 1);
}

TEST(BlockPartition, NoItems) {
  const BlockPartition p{0, 3};
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(p.begin(r), 0);
    EXPECT_EQ(p.end(r), 0);
    EXPECT_EQ(p.size(r), 0);
  }
}

TEST(BlockPartition, ManyShapes) {
  for (int64_t n : {0, 1, 2, 3, 5, 7, 10, 13, 64, 97, 1000, 3696}) {
    for (int p : {1, 2, 3, 4, 7, 8, 16}) expect_valid_partition(n, p);
  }
  expect_valid_partition((int64_t{1} << 40) + 3, 7);
  expect_valid_partition(10000000, 96);
}

// ---------------------------------------------------------------------------------------------
// dtypes and Array

TEST(DType, SizesNamesAndKinds) {
  struct Row {
    DType t;
    size_t size;
    const char* name;
    bool is_float, is_integer;
  };
  const Row rows[] = {
      {DType::f32, 4, "float32", true, false},  {DType::f64, 8, "float64", true, false},
      {DType::i8, 1, "int8", false, true},      {DType::i16, 2, "int16", false, true},
      {DType::i32, 4, "int32", false, true},    {DType::i64, 8, "int64", false, true},
      {DType::u8, 1, "uint8", false, true},     {DType::u16, 2, "uint16", false, true},
      {DType::u32, 4, "uint32", false, true},   {DType::u64, 8, "uint64", false, true},
      {DType::boolean, 1, "bool", false, false},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(dtype_size(r.t), r.size) << r.name;
    EXPECT_STREQ(dtype_name(r.t), r.name);
    EXPECT_EQ(dtype_is_float(r.t), r.is_float) << r.name;
    EXPECT_EQ(dtype_is_integer(r.t), r.is_integer) << r.name;
  }
  EXPECT_EQ(dtype_of<float>(), DType::f32);
  EXPECT_EQ(dtype_of<int64_t>(), DType::i64);
  EXPECT_EQ(dtype_of<uint16_t>(), DType::u16);
}

TEST(Array, FromKeepsDtypeSizeAndBytes) {
  const Array a = Array::from(std::vector<float>{1.5f, -2.75f, 0.f});
  EXPECT_EQ(a.dtype(), DType::f32);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.bytes(), 12u);
  EXPECT_EQ(a.as_double(0), 1.5);
  EXPECT_EQ(a.as_double(1), -2.75);
  EXPECT_EQ(a.data<float>()[1], -2.75f);
  // as_int64 is a C++ cast: toward zero.
  EXPECT_EQ(a.as_int64(1), -2);
  EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{1, -2, 0}));
  EXPECT_EQ(a.to_double(), (std::vector<double>{1.5, -2.75, 0.0}));

  const Array flags = Array::from(std::vector<uint8_t>{1, 0, 1}, DType::boolean);
  EXPECT_EQ(flags.dtype(), DType::boolean);
  EXPECT_EQ(flags.bytes(), 3u);
  EXPECT_EQ(flags.to_int64(), (std::vector<int64_t>{1, 0, 1}));

  const Array empty = Array::from(std::vector<int32_t>{});
  EXPECT_EQ(empty.dtype(), DType::i32);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.bytes(), 0u);
  EXPECT_TRUE(empty.to_double().empty());

  const Array zeros(DType::i16, 4);
  EXPECT_EQ(zeros.bytes(), 8u);
  EXPECT_EQ(zeros.to_int64(), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(Array, WideIntegersConvertExactly) {
  const int64_t big = (int64_t{1} << 53) + 1;   // not representable as a double
  const Array a = Array::from(std::vector<int64_t>{big, -big, std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(a.as_int64(0), big);
  EXPECT_EQ(a.as_int64(1), -big);
  EXPECT_EQ(a.as_int64(2), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(a.as_double(0), 9007199254740992.0);   // rounds to 2^53
  const Array u = Array::from(std::vector<uint32_t>{4294967295u});
  EXPECT_EQ(u.as_int64(0), 4294967295LL);
  EXPECT_EQ(u.as_double(0), 4294967295.0);
  const Array s = Array::from(std::vector<int8_t>{-128, 127});
  EXPECT_EQ(s.to_int64(), (std::vector<int64_t>{-128, 127}));
}

TEST(Array, ConvertedCastsValues) {
  const Array f = Array::from(std::vector<double>{2.9, -2.9, 0.0, 1e3});
  const Array i = f.converted(DType::i32);
  EXPECT_EQ(i.dtype(), DType::i32);
  EXPECT_EQ(i.bytes(), 16u);
  EXPECT_EQ(i.to_int64(), (std::vector<int64_t>{2, -2, 0, 1000}));

  const Array single = Array::from(std::vector<double>{0.1}).converted(DType::f32);
  EXPECT_EQ(single.data<float>()[0], 0.1f);
  EXPECT_EQ(single.converted(DType::f64).as_double(0), static_cast<double>(0.1f));

  const Array codes = Array::from(std::vector<int8_t>{-1, 0, 2}).converted(DType::i64);
  EXPECT_EQ(codes.dtype(), DType::i64);
  EXPECT_EQ(codes.data<int64_t>()[0], -1);
  EXPECT_EQ(codes.data<int64_t>()[2], 2);

  const Array u16 = Array::from(std::vector<int32_t>{65535, 7}).converted(DType::u16);
  EXPECT_EQ(u16.data<uint16_t>()[0], 65535);
  EXPECT_EQ(u16.data<uint16_t>()[1], 7);
}

TEST(Array, ConversionToBoolIsNonzeroNotTruncation) {
  // 0.5 truncates to 0 but is nonzero: bool must be 1 (numpy's astype(bool)).
  const Array f = Array::from(std::vector<float>{0.f, 0.5f, -3.f, 0.f, 1e-30f});
  const Array b = f.converted(DType::boolean);
  EXPECT_EQ(b.dtype(), DType::boolean);
  EXPECT_EQ(b.bytes(), 5u);
  const uint8_t* p = b.data<uint8_t>();
  EXPECT_EQ(std::vector<int>(p, p + 5), (std::vector<int>{0, 1, 1, 0, 1}));

  const Array i = Array::from(std::vector<int32_t>{0, 2, -1, 256}).converted(DType::boolean);
  EXPECT_EQ(i.to_int64(), (std::vector<int64_t>{0, 1, 1, 1}));   // 256 is not truncated to 0

  const Array back = Array::from(std::vector<uint8_t>{1, 0, 1}, DType::boolean).converted(DType::f64);
  EXPECT_EQ(back.to_double(), (std::vector<double>{1.0, 0.0, 1.0}));
}

TEST(Array, EqualityNeedsSameDtypeAndValues) {
  const Array a = Array::from(std::vector<int32_t>{1, 2, 3});
  EXPECT_TRUE(a == Array::from(std::vector<int32_t>{1, 2, 3}));
  EXPECT_FALSE(a != Array::from(std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(a != Array::from(std::vector<int32_t>{1, 2, 4}));
  EXPECT_TRUE(a != Array::from(std::vector<int32_t>{1, 2}));
  // Same values, different dtype.
  EXPECT_TRUE(a != a.converted(DType::i64));
  // Same bytes, different dtype.
  EXPECT_TRUE(Array::from(std::vector<uint8_t>{1, 0}) != Array::from(std::vector<uint8_t>{1, 0}, DType::boolean));
  EXPECT_TRUE(Array::from(std::vector<int32_t>{7}) != Array::from(std::vector<uint32_t>{7}));
  // Converting to the own dtype is a copy.
  EXPECT_TRUE(a.converted(DType::i32) == a);
  EXPECT_TRUE(a.converted(DType::f64).converted(DType::i32) == a);
  EXPECT_TRUE(Array() == Array(DType::f32, 0));
  EXPECT_TRUE(Array(DType::f32, 0) != Array(DType::f64, 0));
}

TEST(Array, WrongElementSizeIsAnError) {
  Array a = Array::from(std::vector<float>{1.f});
  try {
    a.data<double>();
    ADD_FAILURE() << "data<double>() on float32 did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "internal: Array of float32 accessed with the wrong element size");
  }
  // Only the element size is checked (bool is stored as uint8_t, so types of equal width pass).
  EXPECT_NO_THROW(a.data<int32_t>());
}

TEST(Array, ResizeKeepsPrefixAndZeroFills) {
  Array a = Array::from(std::vector<int16_t>{5, -6});
  a.resize(4);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.bytes(), 8u);
  EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{5, -6, 0, 0}));
  a.resize(1);
  EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{5}));
}

// ---------------------------------------------------------------------------------------------
// CsrMatrix, DenseArray

TEST(IndexDtype, Int32UpToInt32MaxThenInt64) {
  EXPECT_EQ(index_dtype_for(0), DType::i32);
  EXPECT_EQ(index_dtype_for(2000), DType::i32);
  EXPECT_EQ(index_dtype_for(2147483647LL), DType::i32);
  EXPECT_EQ(index_dtype_for(2147483648LL), DType::i64);
  EXPECT_EQ(index_dtype_for(int64_t{1} << 40), DType::i64);
}

TEST(CsrMatrix, WithShapeIsEmptyWithTheRightDtypes) {
  const CsrMatrix m = CsrMatrix::with_shape(3, 5, DType::f64);
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 5);
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(m.nnz(), 0);
  EXPECT_EQ(m.indices.dtype(), DType::i32);
  EXPECT_EQ(m.indices.size(), 0u);
  EXPECT_EQ(m.file_indices_dtype, DType::i32);
  EXPECT_EQ(m.data.dtype(), DType::f64);
  EXPECT_EQ(m.data.size(), 0u);

  EXPECT_EQ(CsrMatrix::with_shape(2, 7).data.dtype(), DType::f32);
  const CsrMatrix wide_ok = CsrMatrix::with_shape(1, 2147483647LL);
  EXPECT_EQ(wide_ok.indices.dtype(), DType::i32);
  const CsrMatrix wide = CsrMatrix::with_shape(1, 2147483648LL);
  EXPECT_EQ(wide.indices.dtype(), DType::i64);
  EXPECT_EQ(wide.file_indices_dtype, DType::i64);

  const CsrMatrix none = CsrMatrix::with_shape(0, 0);
  EXPECT_EQ(none.indptr, (std::vector<int64_t>{0}));
  EXPECT_EQ(none.nnz(), 0);
}

TEST(CsrMatrix, IndexReadsEitherWidthAndEqualityComparesEverything) {
  // [[0, 2, 0], [1, 0, 3]]
  CsrMatrix a = CsrMatrix::with_shape(2, 3);
  a.indptr = {0, 1, 3};
  a.indices = Array::from(std::vector<int32_t>{1, 0, 2});
  a.data = Array::from(std::vector<float>{2.f, 1.f, 3.f});
  EXPECT_EQ(a.nnz(), 3);
  EXPECT_EQ(a.index(0), 1);
  EXPECT_EQ(a.index(2), 2);

  CsrMatrix b = a;
  EXPECT_TRUE(a == b);
  b.indices = a.indices.converted(DType::i64);
  EXPECT_EQ(b.index(0), 1);
  EXPECT_EQ(b.index(2), 2);
  EXPECT_FALSE(a == b);   // index dtype is part of the data

  CsrMatrix c = a;
  c.data.data<float>()[2] = 3.5f;
  EXPECT_FALSE(a == c);
  CsrMatrix d = a;
  d.cols = 4;
  EXPECT_FALSE(a == d);
  CsrMatrix e = a;
  e.file_indptr_dtype = DType::i64;   // the file's dtypes are metadata, not data
  EXPECT_TRUE(a == e);

  const Matrix m = a;
  EXPECT_EQ(matrix_rows(m), 2);
  EXPECT_EQ(matrix_cols(m), 3);
  EXPECT_EQ(matrix_summary(m), "csr float32");
}

TEST(DenseArray, ShapesStridesAndElements) {
  const DenseArray cube = DenseArray::zeros({4, 3, 2});
  EXPECT_EQ(cube.rows(), 4);
  EXPECT_EQ(cube.row_stride(), 6);
  EXPECT_EQ(cube.elements(), 24);
  EXPECT_EQ(cube.values.dtype(), DType::f64);
  EXPECT_EQ(cube.values.size(), 24u);
  EXPECT_EQ(cube.values.to_double(), std::vector<double>(24, 0.0));

  const DenseArray vec = DenseArray::zeros({5}, DType::i32);
  EXPECT_EQ(vec.rows(), 5);
  EXPECT_EQ(vec.row_stride(), 1);
  EXPECT_EQ(vec.elements(), 5);
  EXPECT_EQ(vec.values.bytes(), 20u);

  const DenseArray scalar = DenseArray::zeros({});
  EXPECT_EQ(scalar.rows(), 1);
  EXPECT_EQ(scalar.row_stride(), 1);
  EXPECT_EQ(scalar.elements(), 1);

  const DenseArray no_rows = DenseArray::zeros({0, 3}, DType::f32);
  EXPECT_EQ(no_rows.rows(), 0);
  EXPECT_EQ(no_rows.row_stride(), 3);
  EXPECT_EQ(no_rows.elements(), 0);
  EXPECT_EQ(no_rows.values.size(), 0u);

  const Matrix m = DenseArray::zeros({6, 2}, DType::f32);
  EXPECT_EQ(matrix_rows(m), 6);
  EXPECT_EQ(matrix_cols(m), 2);
  EXPECT_EQ(matrix_summary(m), "dense float32");

  DenseArray x = DenseArray::zeros({2, 2});
  DenseArray y = DenseArray::zeros({4});
  EXPECT_FALSE(x == y);   // same values, different shape
  y.shape = {2, 2};
  EXPECT_TRUE(x == y);
  y.values.data<double>()[3] = 1.0;
  EXPECT_FALSE(x == y);
}
