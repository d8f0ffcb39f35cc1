#pragma once
// dynamo's own outputs on the pancreas data (../shared/reference/dynamo/*.h5, plain HDF5: arrays are
// datasets, scalars are root attributes), for stage-by-stage comparisons. Every rank reads the
// whole (small) arrays; rows_of() keeps a rank's cells.
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/matrix.hpp"

namespace velofield::test {

// Path of dynamo's reference file, or "" when ../shared/reference is absent.
std::string dynamo_reference();
// A numeric dataset as float64 with its shape (e.g. "X_pca" → {3696, 30}).
DenseArray reference_array(const std::string& name);
std::vector<std::string> reference_strings(const std::string& name);
double reference_attr(const std::string& name);
// A CSR matrix stored as NAME_data / NAME_indices / NAME_indptr (global, all rows), with `cols` columns.
CsrMatrix reference_csr(const std::string& prefix, int64_t cols);
// The rows [dataset.obs_begin, + n_obs_local) of a global row-major array / CSR matrix.
DenseArray rows_of(const DenseArray& global, const Dataset& dataset);
CsrMatrix rows_of(const CsrMatrix& global, const Dataset& dataset);

}  // namespace velofield::test

// Skips (visibly) when dynamo's reference outputs are absent; defines `path_var`.
#define VELOFIELD_REQUIRE_REFERENCE(path_var)                                        \
  const std::string path_var = ::velofield::test::dynamo_reference();             \
  if (path_var.empty()) GTEST_SKIP() << "../shared/reference/dynamo is absent: skipping (CI has it)"
