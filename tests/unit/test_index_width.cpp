// 64-bit index paths: what happens at and beyond 2^31 (the nonzeros of a 10M-cell matrix), checked
// without allocating 2^31 elements. BlockPartition at 2^40 items is in test_partition_array.cpp.
//  - the dtype the writer stores indptr/indices with, at every integer width's limit;
//  - the reader's slab reads (h5::read_rows, used for the indices/data of a rank's rows) at file
//    offsets beyond 2^31, on a sparse chunked dataset whose unwritten chunks take no disk;
//  - a CSR whose file dtypes are too narrow for its nonzeros/columns survives write → read;
//  - a cell × cell block with more nonzeros than PetscInt holds is refused with a clear error.
#include <gtest/gtest.h>
#include <petscsys.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "data/dataset.hpp"
#include "data/dist_matrix.hpp"
#include "io/h5ad.hpp"
#include "io/hdf5_util.hpp"
#include "io/stored_index_dtype.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {
constexpr int64_t k2to31 = int64_t{1} << 31;
}

TEST(IndexWidth, StoredDtypeKeepsTheFileDtypeWhileValuesFit) {
  // int32 indptr (anndata's default) up to 2^31 - 1 nonzeros, int64 from 2^31 on.
  EXPECT_EQ(stored_index_dtype(DType::i32, k2to31 - 1), DType::i32);
  EXPECT_EQ(stored_index_dtype(DType::i32, k2to31), DType::i64);
  EXPECT_EQ(stored_index_dtype(DType::i32, int64_t{25} * 1000 * 1000 * 1000), DType::i64);   // 10M cells × 2500
  // Unsigned 32-bit holds up to 2^32 - 1, so a uint32 file keeps its dtype a little longer.
  EXPECT_EQ(stored_index_dtype(DType::u32, (int64_t{1} << 32) - 1), DType::u32);
  EXPECT_EQ(stored_index_dtype(DType::u32, int64_t{1} << 32), DType::i64);
  // Narrow files (h5py can write them) widen to int32 first, not straight to int64.
  EXPECT_EQ(stored_index_dtype(DType::i8, 127), DType::i8);
  EXPECT_EQ(stored_index_dtype(DType::i8, 128), DType::i32);
  EXPECT_EQ(stored_index_dtype(DType::u8, 255), DType::u8);
  EXPECT_EQ(stored_index_dtype(DType::u8, 256), DType::i32);
  EXPECT_EQ(stored_index_dtype(DType::i16, 32767), DType::i16);
  EXPECT_EQ(stored_index_dtype(DType::u16, 65536), DType::i32);
  EXPECT_EQ(stored_index_dtype(DType::i64, std::numeric_limits<int64_t>::max()), DType::i64);
  EXPECT_EQ(stored_index_dtype(DType::u64, k2to31), DType::u64);
  // A matrix made in memory has no integer file dtype: the narrowest that holds the values.
  EXPECT_EQ(stored_index_dtype(DType::f32, 10), DType::i32);
  EXPECT_EQ(stored_index_dtype(DType::f64, k2to31), DType::i64);
  // The widened dtype really holds the value (an int32 would wrap to -2^31).
  const Array indptr = Array::from(std::vector<int64_t>{0, k2to31 + 5}).converted(stored_index_dtype(DType::i32, k2to31 + 5));
  EXPECT_EQ(indptr.as_int64(1), k2to31 + 5);
  EXPECT_EQ(Array::from(std::vector<int64_t>{k2to31 + 5}).converted(DType::i32).as_int64(0), -k2to31 + 5);
}

TEST(IndexWidth, SlabReadsBeyondTwoToThe31) {
  // A 1-D int64 dataset of 2^31 + 8192 elements, chunked, with only the chunks around 2^31
  // written: the reader's row-slab path at offsets an int32 cannot hold, on a few-KB file.
  const std::string path = test::temp_dir(MPI_COMM_SELF) + "/wide.h5";
  const hsize_t length = static_cast<hsize_t>(k2to31) + 8192, chunk = 4096;
  const hsize_t start = static_cast<hsize_t>(k2to31) - 4, count = 8;
  const std::vector<int64_t> values{k2to31 - 4, k2to31 - 3, k2to31 - 2, k2to31 - 1, k2to31, k2to31 + 1, k2to31 + 2, k2to31 + 3};
  {
    h5::Hid f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(f.valid());
    h5::Hid space(H5Screate_simple(1, &length, nullptr));
    h5::Hid dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl, 1, &chunk);
    h5::Hid ds(H5Dcreate2(f, "indptr", H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    ASSERT_TRUE(ds.valid());
    h5::Hid mem(H5Screate_simple(1, &count, nullptr));
    ASSERT_GE(H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &count, nullptr), 0);
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_INT64, mem, space, H5P_DEFAULT, values.data()), 0);
  }
  h5::Hid f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5::Hid ds(H5Dopen2(f, "indptr", H5P_DEFAULT));
  ASSERT_EQ(h5::dims(ds), std::vector<int64_t>{k2to31 + 8192});
  Array out(DType::i64, 8);
  h5::read_rows(ds, k2to31 - 4, 8, out, H5P_DEFAULT);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(out.as_int64(i), values[i]) << "element " << i;
  // Into int32 memory (the in-memory indices dtype of most matrices): the values that fit arrive
  // exactly; HDF5 clamps the others rather than wrapping, which the reader's range checks catch.
  Array narrow(DType::i32, 8);
  h5::read_rows(ds, k2to31 - 4, 8, narrow, H5P_DEFAULT);
  EXPECT_EQ(narrow.as_int64(3), k2to31 - 1);
  EXPECT_EQ(narrow.as_int64(4), k2to31 - 1);
  // The last element, past everything written: the fill value.
  Array tail(DType::i64, 1);
  h5::read_rows(ds, k2to31 + 8191, 1, tail, H5P_DEFAULT);
  EXPECT_EQ(tail.as_int64(0), 0);
}

TEST(IndexWidth, NarrowFileDtypesWidenWhenTheMatrixOutgrowsThem) {
  // A CSR read from a file with int8 indptr and indices (valid HDF5, written by h5py) that now
  // holds 300 nonzeros over 300 columns: written back with the file's int8, indptr and indices
  // would wrap and the file would no longer read. Regression test for the writer's widening.
  Dataset d = Dataset::create(MPI_COMM_WORLD, 2, 300);
  CsrMatrix m = CsrMatrix::with_shape(d.n_obs_local, 300);
  std::vector<int32_t> cols;
  std::vector<float> vals;
  m.indptr.assign(1, 0);
  for (int64_t r = 0; r < d.n_obs_local; ++r) {
    for (int32_t c = 0; c < 150; ++c) {
      cols.push_back(static_cast<int32_t>(2 * c + (d.obs_begin + r)));
      vals.push_back(static_cast<float>(c + 1));
    }
    m.indptr.push_back(m.indptr.back() + 150);
  }
  m.indices = Array::from(cols);
  m.data = Array::from(vals);
  m.file_indptr_dtype = DType::i8;
  m.file_indices_dtype = DType::i8;
  d.X = m;
  const std::string path = test::temp_dir() + "/narrow.h5ad";
  write_h5ad(d, path);
  const Dataset back = read_h5ad(path, MPI_COMM_WORLD);
  EXPECT_EQ(first_difference(d, back), "");
  const auto& x = std::get<CsrMatrix>(*back.X);
  EXPECT_EQ(x.nnz(), 150 * d.n_obs_local);
  EXPECT_EQ(x.file_indptr_dtype, DType::i32);
  EXPECT_EQ(x.file_indices_dtype, DType::i32);
  EXPECT_EQ(x.index(149), 2 * 149 + d.obs_begin);
}

TEST(IndexWidth, DistMatrixRefusesMoreNonzerosPerRankThanPetscIntHolds) {
  if (PETSC_MAX_INT > std::numeric_limits<int32_t>::max()) GTEST_SKIP() << "PETSc has 64-bit indices";
  // The check runs on the indptr before any column is touched, so a claimed 2^31 nonzeros with
  // no arrays behind them is enough to reach it.
  const std::vector<int64_t> indptr{0, k2to31};
  const std::string message = test::error_of([&] {
    (void)DistMatrix::from_local_csr(MPI_COMM_SELF, 1, 1, indptr, {}, {}, DType::f32);
  });
  EXPECT_NE(message.find("2147483648 nonzeros on one rank exceeds PETSc's 32-bit index"), std::string::npos) << message;
}
