// `cell-velocities` against dynamo's own run on the pancreas data (issue 7 acceptance), fed
// dynamo's inputs (transition_fixture.hpp): the pearson matrix has dynamo's pattern and values,
// velocity_umap and velocity_pca point where dynamo's do, NaN where dynamo's are NaN.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/config.hpp"
#include "reference.hpp"
#include "test_support.hpp"
#include "transition/cell_velocities_stage.hpp"
#include "transition_fixture.hpp"

using namespace velofield;

namespace {

constexpr int64_t kCells = test::kPancreasCells;

void run_cell_velocities(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = cell_velocities_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("cell-velocities", k, v);
  stage.run(d, StageConfig(config, "cell-velocities", stage.keys));
}

// Per-cell cosine of the rank's rows of `mine` with the reference's rows; NaN rows must match.
std::vector<double> row_cosines(const Dataset& d, const DenseArray& mine, const DenseArray& reference_global, int64_t* nan_mismatch) {
  const DenseArray ref = test::rows_of(reference_global, d);
  const int64_t dim = ref.row_stride();
  std::vector<double> out;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    double dot = 0, a = 0, b = 0;
    bool nan_a = false, nan_b = false;
    for (int64_t c = 0; c < dim; ++c) {
      const double x = mine.values.as_double(static_cast<size_t>(i * dim + c)), y = ref.values.as_double(static_cast<size_t>(i * dim + c));
      nan_a = nan_a || std::isnan(x);
      nan_b = nan_b || std::isnan(y);
      dot += x * y;
      a += x * x;
      b += y * y;
    }
    if (nan_a != nan_b) ++*nan_mismatch;
    if (nan_a || nan_b) continue;
    out.push_back(dot / std::sqrt(a * b));
  }
  return out;
}

double global_min(const std::vector<double>& v) {
  double m = v.empty() ? 1.0 : *std::min_element(v.begin(), v.end());
  MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  return m;
}

}  // namespace

TEST(TransitionReference, PearsonMatrixAndProjectionsMatchDynamo) {
  VELOFIELD_REQUIRE_REFERENCE(path);
  Dataset d = test::pancreas_transition_inputs(MPI_COMM_WORLD);
  run_cell_velocities(d, {{"method", "pearson"}, {"transform", "sqrt"}, {"bases", "umap, pca"}});

  // The matrix: same pattern row by row, values to 1e-5 relative (Frobenius).
  const CsrMatrix ref = test::rows_of(test::reference_csr("T_umap", kCells), d);
  std::vector<int64_t> indptr, cols;
  std::vector<double> values;
  d.obsp.at("pearson_transition_matrix").local_csr(indptr, cols, values);
  int64_t pattern_mismatch_rows = 0, nnz = static_cast<int64_t>(cols.size());
  double diff2 = 0, norm2 = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    std::map<int64_t, double> want;
    for (int64_t p = ref.indptr[static_cast<size_t>(i)]; p < ref.indptr[static_cast<size_t>(i + 1)]; ++p)
      want[ref.index(p)] = ref.data.as_double(static_cast<size_t>(p));
    std::map<int64_t, double> got;
    for (int64_t p = indptr[static_cast<size_t>(i)]; p < indptr[static_cast<size_t>(i + 1)]; ++p) got[cols[static_cast<size_t>(p)]] = values[static_cast<size_t>(p)];
    bool same = got.size() == want.size();
    for (const auto& [c, v] : want) {
      norm2 += v * v;
      auto it = got.find(c);
      same = same && it != got.end();
      const double g = it == got.end() ? 0.0 : it->second;
      diff2 += (g - v) * (g - v);
    }
    for (const auto& [c, v] : got)
      if (!want.count(c)) diff2 += v * v;
    pattern_mismatch_rows += !same;
  }
  MPI_Allreduce(MPI_IN_PLACE, &pattern_mismatch_rows, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &nnz, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &diff2, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &norm2, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  const double relative = std::sqrt(diff2 / norm2);
  if (test::rank() == 0)
    std::printf("pearson T: %lld entries (%.1f per row; dynamo %.0f), %lld rows with another pattern, relative Frobenius error %.3g\n",
                static_cast<long long>(nnz), static_cast<double>(nnz) / kCells, test::reference_attr("T_umap_nnz"),
                static_cast<long long>(pattern_mismatch_rows), relative);
  EXPECT_EQ(nnz, static_cast<int64_t>(test::reference_attr("T_umap_nnz")));
  EXPECT_EQ(pattern_mismatch_rows, 0);
  EXPECT_LE(relative, 1e-5);

  // The projections: per-cell cosine with dynamo's, NaN where dynamo has NaN.
  for (const std::string basis : {"umap", "pca"}) {
    int64_t nan_mismatch = 0;
    const std::vector<double> cosines =
        row_cosines(d, d.obsm_dense("velocity_" + basis), test::reference_array("velocity_" + basis), &nan_mismatch);
    MPI_Allreduce(MPI_IN_PLACE, &nan_mismatch, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    const double worst = global_min(cosines);
    if (test::rank() == 0) std::printf("velocity_%s: worst per-cell cosine with dynamo %.9f\n", basis.c_str(), worst);
    EXPECT_EQ(nan_mismatch, 0) << basis;
    EXPECT_GE(worst, 0.9999) << basis;
  }
}
