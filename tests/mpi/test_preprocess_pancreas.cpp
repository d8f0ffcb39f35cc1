// The preprocess stage on the pancreas data (issue 4 acceptance): dynamo's size factors, gene masks
// and PCA; the same numbers at 1, 2 and 3 ranks (against a one-rank run on MPI_COMM_SELF inside
// the same test); both PCA solvers agree; a cell filter that removes cells rebalances and still
// matches the one-rank run; the cell-cycle scores are the per-cell form of dynamo's correlation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "io/h5ad.hpp"
#include "preprocess/preprocess.hpp"
#include "reference.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

const char* kPancreas = "pancreas_supercell_3696x2000.h5ad";

Dataset preprocessed(const std::string& path, MPI_Comm comm, const PreprocessOptions& o = {}) {
  Dataset d = read_h5ad(path, comm);
  preprocess_monocle(d, o);
  return d;
}

std::vector<double> obs_values(const Dataset& d, const std::string& column) { return d.obs.columns.at(column).values.to_double(); }

const std::vector<double>& uns_values(const Dataset& d, const std::string& key, std::vector<double>& keep) {
  keep = d.uns.at(key).array.values.to_double();
  return keep;
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1e-300));
  return worst;
}

double global_max(double v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return v;
}

// Largest |a - b| over a's rows relative to the largest |b| of the same column, over all ranks.
double columnwise_rel(const DenseArray& a, const DenseArray& b_rows, int64_t cols) {
  std::vector<double> diff(static_cast<size_t>(cols), 0.0), scale(static_cast<size_t>(cols), 0.0);
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t c = 0; c < cols; ++c) {
      const double x = a.values.as_double(static_cast<size_t>(i * cols + c)), y = b_rows.values.as_double(static_cast<size_t>(i * cols + c));
      diff[static_cast<size_t>(c)] = std::max(diff[static_cast<size_t>(c)], std::abs(x - y));
      scale[static_cast<size_t>(c)] = std::max(scale[static_cast<size_t>(c)], std::abs(y));
    }
  MPI_Allreduce(MPI_IN_PLACE, diff.data(), static_cast<int>(cols), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, scale.data(), static_cast<int>(cols), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  double worst = 0;
  for (int64_t c = 0; c < cols; ++c) worst = std::max(worst, diff[static_cast<size_t>(c)] / scale[static_cast<size_t>(c)]);
  return worst;
}

// Rows [begin, begin + n) of a whole-data dense array.
DenseArray slice_rows(const DenseArray& all, int64_t begin, int64_t n) {
  DenseArray out;
  out.shape = all.shape;
  out.shape[0] = n;
  const int64_t w = all.row_stride();
  out.values = Array(DType::f64, static_cast<size_t>(n * w));
  for (int64_t i = 0; i < n * w; ++i) out.values.data<double>()[i] = all.values.as_double(static_cast<size_t>(begin * w + i));
  return out;
}

// Every slot the stage writes, this rank's rows against the same rows of a one-rank run.
void expect_same_as_serial(const Dataset& d, const Dataset& serial, double tol) {
  ASSERT_EQ(d.n_obs, serial.n_obs);
  for (const char* c : {"Size_Factor", "spliced_Size_Factor", "unspliced_Size_Factor", "initial_cell_size", "ntr",
                        "cell_cycle_progress", "cell_cycle_order"}) {
    const auto a = obs_values(d, c), all = obs_values(serial, c);
    const std::vector<double> b(all.begin() + d.obs_begin, all.begin() + d.obs_begin + d.n_obs_local);
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i)
      if (!(std::isnan(a[i]) && std::isnan(b[i]))) worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
    EXPECT_LE(global_max(worst), tol) << "obs " << c;
  }
  const auto pa = obs_values(d, "cell_cycle_phase"), pall = obs_values(serial, "cell_cycle_phase");
  for (int64_t i = 0; i < d.n_obs_local; ++i) EXPECT_EQ(pa[static_cast<size_t>(i)], pall[static_cast<size_t>(d.obs_begin + i)]);
  for (const char* key : {"X_pca", "cell_cycle_scores"}) {
    const auto& a = d.obsm_dense(key);
    const auto& all = serial.obsm_dense(key);
    EXPECT_LE(columnwise_rel(a, slice_rows(all, d.obs_begin, d.n_obs_local), a.row_stride()), tol) << "obsm " << key;
  }
  for (const char* key : {"PCs", "explained_variance_ratio_", "pca_mean"}) {
    std::vector<double> ka, kb;
    const auto& a = uns_values(d, key, ka);
    const auto& b = uns_values(serial, key, kb);
    ASSERT_EQ(a.size(), b.size());
    double worst = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i])), scale = std::max(scale, std::abs(b[i]));
    EXPECT_LE(worst / scale, tol) << "uns " << key;
  }
  for (const char* c : {"use_for_pca", "pass_basic_filter"})
    EXPECT_TRUE(d.var.columns.at(c).values == serial.var.columns.at(c).values) << "var " << c;
  for (const char* c : {"score", "frac", "log_cv"}) {
    const auto a = d.var.columns.at(c).values.to_double(), b = serial.var.columns.at(c).values.to_double();
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::isfinite(b[i])) worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
    EXPECT_LE(worst, tol) << "var " << c;
  }
}

}  // namespace

TEST(PreprocessPancreas, MatchesDynamo) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = preprocessed(path, MPI_COMM_WORLD);
  ASSERT_EQ(d.n_obs, 3696);   // dynamo removes no cell here
  // Size factors (the reference stores float32: 6e-8 is its rounding).
  const std::pair<const char*, const char*> factors[] = {{"Size_Factor", "size_factor_spliced"},
                                                         {"spliced_Size_Factor", "obs_spliced_Size_Factor"},
                                                         {"unspliced_Size_Factor", "obs_unspliced_Size_Factor"}};
  for (const auto& [mine, theirs] : factors) {
    const DenseArray r = test::rows_of(test::reference_array(theirs), d);
    EXPECT_LE(global_max(max_rel(obs_values(d, mine), r.values.to_double())), 1e-6) << mine;
  }
  // Gene masks.
  for (const auto& [mine, theirs] : {std::pair<const char*, const char*>{"use_for_pca", "var_use_for_pca"},
                                     {"pass_basic_filter", "var_pass_basic_filter"}}) {
    const auto a = d.var.columns.at(mine).values.to_double();
    const auto b = test::reference_array(theirs).values.to_double();
    ASSERT_EQ(a.size(), b.size());
    int64_t differ = 0, count = 0;
    for (size_t j = 0; j < a.size(); ++j) differ += (a[j] != 0) != (b[j] != 0), count += a[j] != 0;
    EXPECT_EQ(differ, 0) << mine;
    if (std::string(mine) == "use_for_pca") {
      EXPECT_EQ(count, 1617);
    } else {
      EXPECT_EQ(count, 1028);
    }
  }
  // PCA.
  std::vector<double> keep;
  const auto evr = uns_values(d, "explained_variance_ratio_", keep);
  const auto evr_ref = test::reference_array("pca_explained_variance_ratio").values.to_double();
  EXPECT_LE(max_rel(evr, evr_ref), 1e-4);
  std::vector<double> keep_pcs;
  const auto pcs = uns_values(d, "PCs", keep_pcs);
  const auto pcs_ref = test::reference_array("PCs").values.to_double();
  ASSERT_EQ(pcs.size(), pcs_ref.size());
  const int k = 30;
  const int64_t G = static_cast<int64_t>(pcs.size()) / k;
  std::vector<double> sign(k, 1.0);
  for (int c = 0; c < k; ++c) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < G; ++j) {
      dot += pcs[static_cast<size_t>(j * k + c)] * pcs_ref[static_cast<size_t>(j * k + c)];
      na += pcs[static_cast<size_t>(j * k + c)] * pcs[static_cast<size_t>(j * k + c)];
      nb += pcs_ref[static_cast<size_t>(j * k + c)] * pcs_ref[static_cast<size_t>(j * k + c)];
    }
    const double cosine = std::abs(dot) / std::sqrt(na * nb);
    sign[static_cast<size_t>(c)] = dot < 0 ? -1.0 : 1.0;
    if (c < 20) {
      EXPECT_GE(cosine, 0.9999) << "component " << c;
    }
  }
  // X_pca up to a sign per component (our sign rule is dynamo's: expect the same signs).
  const DenseArray x_ref = test::rows_of(test::reference_array("X_pca"), d);
  DenseArray mine = d.obsm_dense("X_pca");
  int flipped = 0;
  for (int c = 0; c < k; ++c) flipped += sign[static_cast<size_t>(c)] < 0;
  EXPECT_EQ(flipped, 0) << "svd_flip signs differ from dynamo's";
  for (int64_t i = 0; i < mine.rows(); ++i)
    for (int c = 0; c < k; ++c) mine.values.data<double>()[i * k + c] *= sign[static_cast<size_t>(c)];
  EXPECT_LE(columnwise_rel(mine, x_ref, k), 1e-3);
  std::vector<double> keep_mean;
  const auto mean = uns_values(d, "pca_mean", keep_mean);
  const auto mean_ref = test::reference_array("pca_mean").values.to_double();
  double worst = 0;
  for (size_t j = 0; j < mean.size(); ++j) worst = std::max(worst, std::abs(mean[j] - mean_ref[j]));
  EXPECT_LE(worst, 1e-4);
  // Slots dynamo's later stages read.
  EXPECT_TRUE(d.layers.count("X_spliced") && d.layers.count("X_unspliced"));
  EXPECT_EQ(d.uns.at("pp").at("X_norm_method").text, "log1p");
}

TEST(PreprocessPancreas, SameAtAnyRankCountAndSolver) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  PreprocessOptions gram, krylov;
  gram.pca_solver = "gram";
  krylov.pca_solver = "krylov";
  const Dataset serial = preprocessed(path, MPI_COMM_SELF, gram);
  const Dataset d_gram = preprocessed(path, MPI_COMM_WORLD, gram);
  expect_same_as_serial(d_gram, serial, 1e-10);
  const Dataset d_krylov = preprocessed(path, MPI_COMM_WORLD, krylov);
  expect_same_as_serial(d_krylov, serial, 1e-10);
}

TEST(PreprocessPancreas, CellFilterRemovesCellsAndRebalances) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  PreprocessOptions o;
  o.min_expr_genes_u = 156;   // about a quarter of the cells express fewer unspliced genes
  // The expected survivors, from the raw counts.
  int64_t expected = 0;
  {
    const Dataset raw = read_h5ad(path, MPI_COMM_WORLD);
    const CsrMatrix& u = raw.layer_csr("unspliced");
    const CsrMatrix& s = raw.layer_csr("spliced");
    for (int64_t i = 0; i < u.rows; ++i) {
      int64_t nu = 0, ns = 0;
      for (int64_t k = u.indptr[static_cast<size_t>(i)]; k < u.indptr[static_cast<size_t>(i + 1)]; ++k) nu += u.data.as_double(static_cast<size_t>(k)) > 0;
      for (int64_t k = s.indptr[static_cast<size_t>(i)]; k < s.indptr[static_cast<size_t>(i + 1)]; ++k) ns += s.data.as_double(static_cast<size_t>(k)) > 0;
      expected += nu >= 156 && ns >= 20;
    }
    MPI_Allreduce(MPI_IN_PLACE, &expected, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  }
  ASSERT_GT(expected, 500);
  ASSERT_LT(expected, 3696);
  const Dataset d = preprocessed(path, MPI_COMM_WORLD, o);
  EXPECT_EQ(d.n_obs, expected);
  const BlockPartition p{expected, test::ranks()};
  EXPECT_EQ(d.n_obs_local, p.size(test::rank()));
  EXPECT_EQ(matrix_rows(d.layers.at("X_spliced")), d.n_obs_local);
  const Dataset serial = preprocessed(path, MPI_COMM_SELF, o);
  expect_same_as_serial(d, serial, 1e-10);
  // The cells that are left are the ones that passed, in order.
  for (int64_t i = 0; i < d.n_obs_local; ++i)
    EXPECT_EQ(d.obs.index[static_cast<size_t>(i)], serial.obs.index[static_cast<size_t>(d.obs_begin + i)]);
}

TEST(PreprocessPancreas, CellCycleScoresAreTheCorrelationWithThePhaseIndicators) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  const Dataset d = preprocessed(path, MPI_COMM_WORLD);
  ASSERT_TRUE(d.obsm.count("cell_cycle_scores"));
  const auto& s = d.obsm_dense("cell_cycle_scores");
  ASSERT_EQ(s.row_stride(), 5);
  // Each row: the Pearson correlation of z (the row-normalised phase scores) with e_k equals
  // z_k / sqrt(3.2); recover z = score · sqrt(3.2) and check it is mean 0, sample std 1, and
  // that the direct correlation gives the score back.
  for (int64_t i = 0; i < s.rows(); i += 97) {
    double z[5], m = 0;
    for (int k = 0; k < 5; ++k) z[k] = s.values.data<double>()[i * 5 + k] * std::sqrt(3.2), m += z[k] / 5;
    double ss = 0;
    for (double v : z) ss += (v - m) * (v - m);
    EXPECT_NEAR(m, 0.0, 1e-12);
    EXPECT_NEAR(ss / 4, 1.0, 1e-12);
    for (int k = 0; k < 5; ++k) {
      double cov = 0, ve = 0;
      for (int j = 0; j < 5; ++j) {
        const double e = (j == k ? 1.0 : 0.0) - 0.2;
        cov += (z[j] - m) * e;
        ve += e * e;
      }
      EXPECT_NEAR(cov / std::sqrt(ss * ve), s.values.data<double>()[i * 5 + k], 1e-12);
    }
    // The phase is the argmax; the progress is previous − next.
    const auto phase = static_cast<int>(d.obs.columns.at("cell_cycle_phase").values.as_double(static_cast<size_t>(i)));
    for (int k = 0; k < 5; ++k) EXPECT_LE(s.values.data<double>()[i * 5 + k], s.values.data<double>()[i * 5 + phase]);
    EXPECT_DOUBLE_EQ(obs_values(d, "cell_cycle_progress")[static_cast<size_t>(i)],
                     s.values.data<double>()[i * 5 + (phase + 4) % 5] - s.values.data<double>()[i * 5 + (phase + 1) % 5]);
  }
  // The refined marker lists are mouse-cased genes of the data.
  const auto& genes = d.uns.at("cell_phase_genes");
  EXPECT_EQ(genes.children.size(), 5u);
  for (const auto& [phase, list] : genes.children)
    for (const auto& g : list.strings) EXPECT_TRUE(std::islower(static_cast<unsigned char>(g.back())) || std::isdigit(static_cast<unsigned char>(g.back()))) << phase << " " << g;
  // Orders are in [0, 1] within each phase.
  for (double v : obs_values(d, "cell_cycle_order")) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
}
