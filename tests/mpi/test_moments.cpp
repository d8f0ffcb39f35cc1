// The moments stage (issue 5) against dynamo, stage by stage: given dynamo's X_pca and size
// factors, moments_con has dynamo's pattern and values (1e-6), M_s and M_u equal dynamo's for the
// 1617 selected genes (1e-5 relative), the second moments are W·(x∘y), and everything is the same
// at 1, 2 and 3 ranks.
#include <gtest/gtest.h>

#include <cmath>

#include "moments/moment_layers.hpp"
#include "moments_fixture.hpp"
#include "reference.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

int64_t sum_all(int64_t v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return v;
}

double max_all(double v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return v;
}

// Value (i, g) of a CSR or dense layer, local row i.
double at(const Matrix& m, int64_t i, int64_t g) {
  if (const auto* d = std::get_if<DenseArray>(&m)) return d->values.as_double(static_cast<size_t>(i * d->row_stride() + g));
  const auto& c = std::get<CsrMatrix>(m);
  for (int64_t k = c.indptr[static_cast<size_t>(i)]; k < c.indptr[static_cast<size_t>(i + 1)]; ++k)
    if (c.index(k) == g) return c.data.as_double(static_cast<size_t>(k));
  return 0;
}

class Moments : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = test::shared_data("pancreas_supercell_3696x2000.h5ad");
    if (path.empty() || test::dynamo_reference().empty()) return;
    d_ = new Dataset(test::pancreas_for_moments(path, MPI_COMM_WORLD));
    test::run_stage(*d_, "moments");
  }
  static void TearDownTestSuite() {
    delete d_;
    d_ = nullptr;
  }
  static Dataset* d_;
};
Dataset* Moments::d_ = nullptr;

}  // namespace

TEST_F(Moments, MomentMatrixEqualsDynamos) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  const CsrMatrix want = test::rows_of(test::reference_csr("moments_con", 3696), *d_);
  std::vector<int64_t> indptr, cols;
  std::vector<double> vals;
  d_->obsp.at("moments_con").local_csr(indptr, cols, vals);
  int64_t rows_differing = 0;
  double worst = 0;
  for (int64_t i = 0; i < d_->n_obs_local; ++i) {
    std::vector<std::pair<int64_t, double>> a, b;
    for (int64_t k = indptr[static_cast<size_t>(i)]; k < indptr[static_cast<size_t>(i + 1)]; ++k) a.emplace_back(cols[static_cast<size_t>(k)], vals[static_cast<size_t>(k)]);
    for (int64_t k = want.indptr[static_cast<size_t>(i)]; k < want.indptr[static_cast<size_t>(i + 1)]; ++k) b.emplace_back(want.index(k), want.data.as_double(static_cast<size_t>(k)));
    std::sort(b.begin(), b.end());
    bool same = a.size() == b.size();
    for (size_t k = 0; same && k < a.size(); ++k) {
      same = a[k].first == b[k].first;
      worst = std::max(worst, std::fabs(a[k].second - b[k].second));
    }
    rows_differing += !same;
  }
  rows_differing = sum_all(rows_differing);
  worst = max_all(worst);
  if (test::rank() == 0) std::printf("moments_con: %lld rows with another pattern; max |value difference| %.3g\n", static_cast<long long>(rows_differing), worst);
  EXPECT_EQ(rows_differing, 0);
  EXPECT_LE(worst, 1e-6);
  EXPECT_EQ(d_->obsp.at("moments_con").file_dtype(), DType::f32);
}

TEST_F(Moments, FirstMomentsEqualDynamosForTheSelectedGenes) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  const DenseArray use = test::reference_array("var_use_for_pca");
  std::vector<int64_t> pca_genes;
  for (int64_t g = 0; g < 2000; ++g)
    if (use.values.as_double(static_cast<size_t>(g)) != 0) pca_genes.push_back(g);
  ASSERT_EQ(pca_genes.size(), 1617u);
  for (const char* name : {"M_s", "M_u"}) {
    const DenseArray want = test::rows_of(test::reference_array(std::string(name) + "_pcagenes"), *d_);
    const Matrix& got = d_->layers.at(name);
    ASSERT_TRUE(std::holds_alternative<CsrMatrix>(got)) << "selected genes only: a CSR layer";
    EXPECT_EQ(std::get<CsrMatrix>(got).nnz(), d_->n_obs_local * 1617);
    double worst = 0;
    int64_t compared = 0;
    const CsrMatrix& csr = std::get<CsrMatrix>(got);
    for (int64_t i = 0; i < d_->n_obs_local; ++i) {
      // Every row stores exactly the selected genes, in var order.
      ASSERT_EQ(csr.indptr[static_cast<size_t>(i + 1)] - csr.indptr[static_cast<size_t>(i)], 1617);
      for (size_t p = 0; p < pca_genes.size(); ++p) {
        const int64_t k = csr.indptr[static_cast<size_t>(i)] + static_cast<int64_t>(p);
        ASSERT_EQ(csr.index(k), pca_genes[p]);
        const double w = want.values.as_double(static_cast<size_t>(i) * 1617 + p);
        if (std::isnan(w)) continue;   // genes dynamo did not use for dynamics
        const double v = csr.data.as_double(static_cast<size_t>(k));
        worst = std::max(worst, std::fabs(v - w) / std::max(std::fabs(w), 1e-30) * (w != 0 || v != 0));
        ++compared;
      }
    }
    worst = max_all(worst);
    compared = sum_all(compared);
    if (test::rank() == 0) std::printf("%s: %lld values compared, max relative difference %.3g\n", name, static_cast<long long>(compared), worst);
    EXPECT_GT(compared, 3696 * 1000);
    EXPECT_LE(worst, 1e-5);
  }
}

TEST_F(Moments, SecondMomentsAreTheGraphAveragesOfProducts) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  // All cells on this rank, to read any neighbour's values.
  const Dataset all = test::pancreas_for_moments(path, MPI_COMM_SELF);
  const CsrMatrix w = test::reference_csr("moments_con", 3696);
  const Matrix& xs = all.layers.at("X_spliced");
  const Matrix& xu = all.layers.at("X_unspliced");
  double worst = 0;
  for (int64_t i = 0; i < d_->n_obs_local; i += 7) {
    const int64_t gi = d_->obs_begin + i;
    for (int64_t g : {0, 4, 5, 17, 400, 1999}) {   // 5 and 17 are not selected
      if (!d_->var.columns.at("use_for_pca").values.as_double(static_cast<size_t>(g))) {
        // A gene without moments: nothing stored.
        EXPECT_EQ(at(d_->layers.at("M_uu"), i, g), 0.0);
        continue;
      }
      double uu = 0, us = 0, ss = 0;
      for (int64_t k = w.indptr[static_cast<size_t>(gi)]; k < w.indptr[static_cast<size_t>(gi + 1)]; ++k) {
        const int64_t j = w.index(k);
        const double wk = w.data.as_double(static_cast<size_t>(k)), u = at(xu, j, g), s = at(xs, j, g);
        uu += wk * u * u;
        us += wk * u * s;
        ss += wk * s * s;
      }
      worst = std::max({worst, std::fabs(at(d_->layers.at("M_uu"), i, g) - uu) / (1e-12 + std::fabs(uu)),
                        std::fabs(at(d_->layers.at("M_us"), i, g) - us) / (1e-12 + std::fabs(us)),
                        std::fabs(at(d_->layers.at("M_ss"), i, g) - ss) / (1e-12 + std::fabs(ss))});
    }
  }
  worst = max_all(worst);
  if (test::rank() == 0) std::printf("second moments: max relative difference to W·(x∘y) %.3g\n", worst);
  EXPECT_LE(worst, 1e-6);
}

TEST_F(Moments, EverySlotIsIdenticalAtAnyRankCount) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  Dataset one = test::pancreas_for_moments(path, MPI_COMM_SELF);
  test::run_stage(one, "moments");
  int64_t differing = 0;
  for (const char* name : {"M_s", "M_u", "M_uu", "M_us", "M_ss"}) {
    const CsrMatrix mine = std::get<CsrMatrix>(d_->layers.at(name));
    const CsrMatrix& full = std::get<CsrMatrix>(one.layers.at(name));
    const CsrMatrix slab = test::rows_of(full, *d_);
    differing += !(mine.data == slab.data) || !(mine.indices == slab.indices) || mine.indptr != slab.indptr;
  }
  for (const char* name : {"moments_con", "connectivities", "distances"}) {
    std::vector<int64_t> p1, c1, p2, c2;
    std::vector<double> v1, v2;
    d_->obsp.at(name).local_csr(p1, c1, v1);
    one.obsp.at(name).local_csr(p2, c2, v2);
    const int64_t b = d_->obs_begin, e = b + d_->n_obs_local;
    const std::vector<int64_t> c2s(c2.begin() + p2[static_cast<size_t>(b)], c2.begin() + p2[static_cast<size_t>(e)]);
    const std::vector<double> v2s(v2.begin() + p2[static_cast<size_t>(b)], v2.begin() + p2[static_cast<size_t>(e)]);
    differing += c1 != c2s || v1 != v2s;
  }
  EXPECT_EQ(sum_all(differing), 0);
  EXPECT_EQ(d_->uns.at("neighbors/params/knn_method").text, "exact");
  EXPECT_EQ(d_->uns.at("neighbors/params/n_neighbors").array.values.as_double(0), 30);
}

TEST_F(Moments, AllGenesAreDenseAndFloat32IsCloseToFloat64) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  Dataset d = test::pancreas_for_moments(path, MPI_COMM_WORLD);
  test::run_stage(d, "moments", "genes = all\ndtype = float32\nsecond_moments = false\n");
  const auto& ms = std::get<DenseArray>(d.layers.at("M_s"));
  EXPECT_EQ(ms.shape, (std::vector<int64_t>{d.n_obs_local, 2000}));
  EXPECT_EQ(ms.values.dtype(), DType::f32);
  EXPECT_EQ(d.layers.count("M_ss"), 0u);
  const CsrMatrix& selected = std::get<CsrMatrix>(d_->layers.at("M_s"));
  // Summed in single precision: within 1e-6 of the float64 layer.
  double worst = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i)
    for (int64_t k = selected.indptr[static_cast<size_t>(i)]; k < selected.indptr[static_cast<size_t>(i + 1)]; ++k) {
      const double want = selected.data.as_double(static_cast<size_t>(k));
      worst = std::max(worst, std::fabs(ms.values.data<float>()[i * 2000 + selected.index(k)] - want) / (1e-30 + std::fabs(want)));
    }
  worst = max_all(worst);
  if (test::rank() == 0) std::printf("float32 M_s: max relative difference to float64 %.3g\n", worst);
  EXPECT_LE(worst, 1e-6);
}

TEST_F(Moments, SmallGeneBlocksGiveTheSameLayers) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  // 1 MB blocks: tens of gene blocks, each with its own halo exchange, read by the per-row cursors.
  Dataset d = test::pancreas_for_moments(path, MPI_COMM_WORLD);
  MomentLayerOptions o;
  o.genes = selected_genes(d, "--genes");
  o.block_bytes = int64_t{1} << 20;
  compute_moment_layers(d, d_->obsp.at("moments_con"), o);
  int64_t differing = 0;
  for (const char* name : {"M_s", "M_u", "M_uu", "M_us", "M_ss"})
    differing += !(std::get<CsrMatrix>(d.layers.at(name)) == std::get<CsrMatrix>(d_->layers.at(name)));
  EXPECT_EQ(sum_all(differing), 0);
}

TEST(MomentsErrors, MissingLayersAndSelectionAreClearErrors) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  Dataset d = test::pancreas_for_moments(path, MPI_COMM_WORLD);
  d.layers.erase("X_unspliced");
  const std::string missing = test::error_of([&] { test::run_stage(d, "moments"); });
  EXPECT_NE(missing.find("layers/X_unspliced: not present (this file has layers: X_spliced, spliced, unspliced)"), std::string::npos) << missing;
  d.var.columns.erase("use_for_pca");
  const std::string unselected = test::error_of([&] { test::run_stage(d, "moments"); });
  EXPECT_NE(unselected.find("var/use_for_pca: not present: the selected genes come from preprocess; run it first, or use --genes all"),
            std::string::npos) << unselected;
  EXPECT_EQ(test::error_of([&] { test::run_stage(d, "moments", "knn = kdtree\n"); }),
            "test.ini: [moments] knn: unknown kNN method 'kdtree' (known: auto, approx, exact)");
}
