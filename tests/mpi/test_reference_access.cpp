// The reference reader the stage tests rely on: shapes and a few values of dynamo's outputs.
#include <gtest/gtest.h>

#include "reference.hpp"
#include "test_support.hpp"

using namespace velofield;

TEST(DynamoReference, ShapesAndRowSlabs) {
  VELOFIELD_REQUIRE_REFERENCE(path);
  const DenseArray x_pca = test::reference_array("X_pca");
  ASSERT_EQ(x_pca.shape, (std::vector<int64_t>{3696, 30}));
  Dataset d = Dataset::create(MPI_COMM_WORLD, 3696, 2000);
  const DenseArray mine = test::rows_of(x_pca, d);
  ASSERT_EQ(mine.rows(), d.n_obs_local);
  if (d.n_obs_local > 0) {
    EXPECT_EQ(mine.values.as_double(0), x_pca.values.as_double(static_cast<size_t>(d.obs_begin * 30)));
  }
  const CsrMatrix con = test::reference_csr("moments_con", 3696);
  EXPECT_EQ(con.rows, 3696);
  // The moment connectivity matrix is row-stochastic (README of the reference).
  for (int64_t r = 0; r < con.rows; r += 500) {
    double sum = 0;
    for (int64_t k = con.indptr[r]; k < con.indptr[r + 1]; ++k) sum += con.data.as_double(static_cast<size_t>(k));
    EXPECT_NEAR(sum, 1.0, 1e-6) << "row " << r;
  }
  const CsrMatrix local = test::rows_of(con, d);
  int64_t nnz = local.nnz();
  MPI_Allreduce(MPI_IN_PLACE, &nnz, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(nnz, con.nnz());
  EXPECT_EQ(test::reference_strings("pp_var_names").size(), 2000u);
}
