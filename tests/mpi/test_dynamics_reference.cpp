// `dynamics` against dynamo's own run on the pancreas data (issue 6 acceptance), fed dynamo's
// inputs: its first moments M_s, M_u (the reference stores them for the 1617 genes it used, in
// float32) and second moments M_ss, M_us built here exactly as dynamo builds them — its moment
// matrix moments_con times the size-normalised counts of the data file, with its size factors —
// since the reference does not store them. The reference has no gamma either: gamma_ref is read
// back from its velocity_S = M_u - gamma·M_s by a per-gene least-squares fit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "core/config.hpp"
#include "io/h5ad.hpp"
#include "reference.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"

using namespace velofield;

namespace {

constexpr int64_t kCells = 3696, kGenes = 2000, kPcaGenes = 1617;

void run_dynamics(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = dynamics_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  stage.run(d, StageConfig(config, "dynamics", stage.keys));
}

struct Reference {
  std::vector<int64_t> pca_genes;          // var indices of the 1617 genes
  DenseArray m_s, m_u, velocity;           // cells × 1617, float64 copies of the float32 arrays
  std::vector<double> gamma, gamma_r2;     // read back from velocity (NaN for its NaN genes)
  std::vector<uint8_t> use_for_transition; // dynamo's rule on gamma_ref, gamma_r2_ref
};

const Reference& reference() {
  static Reference r = [] {
    Reference ref;
    const DenseArray pca = test::reference_array("var_use_for_pca");
    for (int64_t g = 0; g < kGenes; ++g)
      if (pca.values.as_double(static_cast<size_t>(g)) != 0) ref.pca_genes.push_back(g);
    ref.m_s = test::reference_array("M_s_pcagenes");
    ref.m_u = test::reference_array("M_u_pcagenes");
    ref.velocity = test::reference_array("velocity_S_pcagenes");
    const double* s = ref.m_s.values.data<double>();
    const double* u = ref.m_u.values.data<double>();
    const double* v = ref.velocity.values.data<double>();
    for (int64_t g = 0; g < kPcaGenes; ++g) {
      double num = 0, den = 0, mean_u = 0;
      bool undefined = false;
      for (int64_t i = 0; i < kCells; ++i) {
        const size_t k = static_cast<size_t>(i * kPcaGenes + g);
        undefined = undefined || std::isnan(v[k]);
        num += (u[k] - v[k]) * s[k];
        den += s[k] * s[k];
        mean_u += u[k];
      }
      const double gamma = undefined ? std::nan("") : num / den;
      mean_u /= kCells;
      double ssr = 0, sst = 0;
      for (int64_t i = 0; i < kCells; ++i) {
        const size_t k = static_cast<size_t>(i * kPcaGenes + g);
        ssr += (u[k] - gamma * s[k]) * (u[k] - gamma * s[k]);
        sst += (u[k] - mean_u) * (u[k] - mean_u);
      }
      const double r2 = std::isfinite(1 - ssr / sst) ? 1 - ssr / sst : 0;
      ref.gamma.push_back(gamma);
      ref.gamma_r2.push_back(r2);
      ref.use_for_transition.push_back(gamma > 0.01 && r2 > 0.01);
    }
    return ref;
  }();
  return r;
}

// M_ss = W·(X_s∘X_s) and M_us = W·(X_u∘X_s) for every cell and the 1617 genes, as dynamo's moments
// compute them: W = moments_con, X = counts / the reference's size factors. Computed once per process.
struct SecondMoments {
  std::vector<double> ss, us;   // cells × 1617
};

const SecondMoments& second_moments(const std::string& counts_file) {
  static SecondMoments m = [&] {
    const Reference& ref = reference();
    const Dataset counts = read_h5ad(counts_file, MPI_COMM_SELF);
    const CsrMatrix& S = counts.layer_csr("spliced");
    const CsrMatrix& U = counts.layer_csr("unspliced");
    const DenseArray sf_s = test::reference_array("obs_spliced_Size_Factor");
    const DenseArray sf_u = test::reference_array("obs_unspliced_Size_Factor");
    const CsrMatrix W = test::reference_csr("moments_con", kCells);
    SecondMoments out;
    out.ss.resize(static_cast<size_t>(kCells * kPcaGenes));
    out.us.resize(out.ss.size());
    std::vector<double> ss(kGenes), us(kGenes), xu(kGenes);
    for (int64_t row = 0; row < kCells; ++row) {
      std::fill(ss.begin(), ss.end(), 0.0);
      std::fill(us.begin(), us.end(), 0.0);
      for (int64_t k = W.indptr[row]; k < W.indptr[row + 1]; ++k) {
        const int64_t j = W.index(k);
        const double w = W.data.as_double(static_cast<size_t>(k));
        std::fill(xu.begin(), xu.end(), 0.0);
        for (int64_t e = U.indptr[j]; e < U.indptr[j + 1]; ++e)
          xu[static_cast<size_t>(U.index(e))] = U.data.as_double(static_cast<size_t>(e)) / sf_u.values.as_double(static_cast<size_t>(j));
        for (int64_t e = S.indptr[j]; e < S.indptr[j + 1]; ++e) {
          const int64_t g = S.index(e);
          const double xs = S.data.as_double(static_cast<size_t>(e)) / sf_s.values.as_double(static_cast<size_t>(j));
          ss[static_cast<size_t>(g)] += w * (xs * xs);
          us[static_cast<size_t>(g)] += w * (xu[static_cast<size_t>(g)] * xs);
        }
      }
      for (int64_t k = 0; k < kPcaGenes; ++k) {
        const size_t g = static_cast<size_t>(ref.pca_genes[static_cast<size_t>(k)]);
        out.ss[static_cast<size_t>(row * kPcaGenes + k)] = ss[g];
        out.us[static_cast<size_t>(row * kPcaGenes + k)] = us[g];
      }
    }
    return out;
  }();
  return m;
}

// dynamo's inputs for `dynamics` on the rows of `d`: var names and use_for_pca, M_s and M_u from the
// reference (dense float32, like the reference stores them), M_ss (CSR over the 1617 genes,
// float64) and M_us (dense float64) from second_moments().
Dataset pancreas_moments(MPI_Comm comm, const std::string& counts_file) {
  const Reference& ref = reference();
  Dataset d = Dataset::create(comm, kCells, kGenes);
  d.source = "pancreas_moments.h5ad";
  d.var.index = test::reference_strings("var_names");
  const auto obs = test::reference_strings("obs_names");
  for (int64_t i = 0; i < d.n_obs_local; ++i) d.obs.index[static_cast<size_t>(i)] = obs[static_cast<size_t>(d.obs_begin + i)];
  Array flags(DType::boolean, static_cast<size_t>(kGenes));
  std::memset(flags.raw(), 0, flags.bytes());
  for (int64_t g : ref.pca_genes) flags.data<uint8_t>()[g] = 1;
  d.var.set("use_for_pca", Column::numeric(flags));

  const int64_t n = d.n_obs_local;
  DenseArray m_s = DenseArray::zeros({n, kGenes}, DType::f32), m_u = DenseArray::zeros({n, kGenes}, DType::f32);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < kPcaGenes; ++k) {
      const size_t from = static_cast<size_t>((d.obs_begin + i) * kPcaGenes + k);
      const size_t to = static_cast<size_t>(i * kGenes + ref.pca_genes[static_cast<size_t>(k)]);
      m_s.values.data<float>()[to] = static_cast<float>(ref.m_s.values.data<double>()[from]);
      m_u.values.data<float>()[to] = static_cast<float>(ref.m_u.values.data<double>()[from]);
    }
  d.layers["M_s"] = std::move(m_s);
  d.layers["M_u"] = std::move(m_u);

  const SecondMoments& second = second_moments(counts_file);
  CsrMatrix m_ss = CsrMatrix::with_shape(n, kGenes, DType::f64);
  DenseArray m_us = DenseArray::zeros({n, kGenes}, DType::f64);
  std::vector<int32_t> idx;
  std::vector<double> val;
  for (int64_t i = 0; i < n; ++i) {
    const size_t row = static_cast<size_t>((d.obs_begin + i) * kPcaGenes);
    for (int64_t k = 0; k < kPcaGenes; ++k) {   // every pca gene stored, zeros included (the moments stage's CSR layout)
      const int64_t g = ref.pca_genes[static_cast<size_t>(k)];
      idx.push_back(static_cast<int32_t>(g));
      val.push_back(second.ss[row + static_cast<size_t>(k)]);
      m_us.values.data<double>()[i * kGenes + g] = second.us[row + static_cast<size_t>(k)];
    }
    m_ss.indptr[static_cast<size_t>(i + 1)] = static_cast<int64_t>(idx.size());
  }
  m_ss.indices = Array::from(idx);
  m_ss.data = Array::from(val);
  d.layers["M_ss"] = std::move(m_ss);
  d.layers["M_us"] = std::move(m_us);
  return d;
}

// Local row i of a layer (CSR or dense), as a dense row over all genes.
std::vector<double> dense_row(const Matrix& m, int64_t i) {
  std::vector<double> row(static_cast<size_t>(matrix_cols(m)), 0.0);
  if (auto* c = std::get_if<CsrMatrix>(&m)) {
    for (int64_t k = c->indptr[static_cast<size_t>(i)]; k < c->indptr[static_cast<size_t>(i + 1)]; ++k)
      row[static_cast<size_t>(c->index(k))] = c->data.as_double(static_cast<size_t>(k));
  } else {
    const DenseArray& a = std::get<DenseArray>(m);
    for (size_t g = 0; g < row.size(); ++g) row[g] = a.values.as_double(static_cast<size_t>(i) * row.size() + g);
  }
  return row;
}

DType value_dtype(const Matrix& m) {
  return std::holds_alternative<CsrMatrix>(m) ? std::get<CsrMatrix>(m).data.dtype() : std::get<DenseArray>(m).values.dtype();
}

}  // namespace

TEST(DynamicsReference, StochasticMatchesDynamoOnItsOwnMoments) {
  VELOFIELD_REQUIRE_REFERENCE(ref_path);
  VELOFIELD_REQUIRE_SHARED(counts, "pancreas_supercell_3696x2000.h5ad");
  const Reference& ref = reference();
  ASSERT_EQ(static_cast<int64_t>(ref.pca_genes.size()), kPcaGenes);
  Dataset d = pancreas_moments(MPI_COMM_WORLD, counts);
  run_dynamics(d, {});

  // gamma over the fitted genes; NaN exactly where dynamo's velocity is NaN (no unspliced signal).
  const Column& gamma = d.var.columns.at("gamma");
  double worst = 0;
  int64_t nan_genes = 0, zero_genes = 0;
  for (int64_t k = 0; k < kPcaGenes; ++k) {
    const double mine = gamma.values.as_double(static_cast<size_t>(ref.pca_genes[static_cast<size_t>(k)]));
    const double theirs = ref.gamma[static_cast<size_t>(k)];
    ASSERT_EQ(std::isnan(mine), std::isnan(theirs)) << "gene " << d.var.index[static_cast<size_t>(ref.pca_genes[static_cast<size_t>(k)])];
    if (std::isnan(theirs)) {
      ++nan_genes;
      continue;
    }
    if (theirs == 0) {   // no unspliced signal on the extreme cells: exactly 0 in both
      ++zero_genes;
      EXPECT_EQ(mine, 0.0);
      continue;
    }
    worst = std::max(worst, std::fabs(mine - theirs) / std::fabs(theirs));
  }
  EXPECT_LE(worst, 1e-4);
  EXPECT_EQ(nan_genes, 161);
  EXPECT_EQ(zero_genes, 38);
  if (test::rank() == 0) std::printf("[ gamma    ] max relative error %.3g over %lld genes (1e-4 allowed)\n", worst, static_cast<long long>(kPcaGenes - nan_genes - zero_genes));

  // Gene sets.
  const DenseArray dyn_ref = test::reference_array("var_dyn_use_for_dynamics");
  const Column& dyn = d.var.columns.at("use_for_dynamics");
  const Column& tr = d.var.columns.at("use_for_transition");
  ASSERT_EQ(dyn.values.dtype(), DType::boolean);
  int64_t dyn_count = 0, tr_count = 0, tr_ref_count = 0;
  for (int64_t g = 0; g < kGenes; ++g) {
    EXPECT_EQ(dyn.values.as_double(static_cast<size_t>(g)) != 0, dyn_ref.values.as_double(static_cast<size_t>(g)) != 0) << g;
    dyn_count += dyn.values.as_double(static_cast<size_t>(g)) != 0;
  }
  for (int64_t k = 0; k < kPcaGenes; ++k) {
    const bool mine = tr.values.as_double(static_cast<size_t>(ref.pca_genes[static_cast<size_t>(k)])) != 0;
    EXPECT_EQ(mine, ref.use_for_transition[static_cast<size_t>(k)] != 0) << "gene " << k;
    tr_count += mine;
    tr_ref_count += ref.use_for_transition[static_cast<size_t>(k)];
  }
  EXPECT_EQ(dyn_count, kPcaGenes);
  EXPECT_EQ(tr_count, tr_ref_count);
  EXPECT_EQ(tr_count, 362);

  // velocity_S: per-gene relative L2 error over all cells, and the largest entry error relative to
  // the gene's largest |velocity|; NaN columns NaN in every cell; genes not fitted left empty.
  const Matrix& v = d.layer("velocity_S");
  ASSERT_EQ(value_dtype(v), DType::f32);   // the precision of the moments it came from
  std::vector<double> sums(static_cast<size_t>(3 * kPcaGenes), 0.0);   // |diff|², |ref|², max|diff|
  std::vector<double> peak(static_cast<size_t>(kPcaGenes), 0.0);
  int64_t nan_entries = 0, stray = 0;
  std::vector<uint8_t> is_pca(kGenes, 0);
  for (int64_t g : ref.pca_genes) is_pca[static_cast<size_t>(g)] = 1;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const std::vector<double> row = dense_row(v, i);
    for (int64_t g = 0; g < kGenes; ++g) stray += !is_pca[static_cast<size_t>(g)] && row[static_cast<size_t>(g)] != 0;
    for (int64_t k = 0; k < kPcaGenes; ++k) {
      const double theirs = ref.velocity.values.data<double>()[(d.obs_begin + i) * kPcaGenes + k];
      const double mine = row[static_cast<size_t>(ref.pca_genes[static_cast<size_t>(k)])];
      if (std::isnan(theirs)) {
        nan_entries += std::isnan(mine);
        continue;
      }
      const double diff = mine - theirs;
      sums[static_cast<size_t>(3 * k)] += diff * diff;
      sums[static_cast<size_t>(3 * k + 1)] += theirs * theirs;
      sums[static_cast<size_t>(3 * k + 2)] = std::max(sums[static_cast<size_t>(3 * k + 2)], std::fabs(diff));
      peak[static_cast<size_t>(k)] = std::max(peak[static_cast<size_t>(k)], std::fabs(theirs));
    }
  }
  std::vector<double> maxima(static_cast<size_t>(2 * kPcaGenes));
  for (int64_t k = 0; k < kPcaGenes; ++k) {
    maxima[static_cast<size_t>(2 * k)] = sums[static_cast<size_t>(3 * k + 2)];
    maxima[static_cast<size_t>(2 * k + 1)] = peak[static_cast<size_t>(k)];
    sums[static_cast<size_t>(3 * k + 2)] = 0;
  }
  MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, maxima.data(), static_cast<int>(maxima.size()), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &nan_entries, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &stray, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  double worst_l2 = 0, worst_entry = 0;
  for (int64_t k = 0; k < kPcaGenes; ++k) {
    if (std::isnan(ref.gamma[static_cast<size_t>(k)]) || maxima[static_cast<size_t>(2 * k + 1)] == 0) continue;
    worst_l2 = std::max(worst_l2, std::sqrt(sums[static_cast<size_t>(3 * k)] / sums[static_cast<size_t>(3 * k + 1)]));
    worst_entry = std::max(worst_entry, maxima[static_cast<size_t>(2 * k)] / maxima[static_cast<size_t>(2 * k + 1)]);
  }
  EXPECT_LE(worst_l2, 1e-4);
  EXPECT_LE(worst_entry, 1e-4);
  EXPECT_EQ(nan_entries, 161 * kCells);
  EXPECT_EQ(stray, 0);
  if (test::rank() == 0)
    std::printf("[ velocity ] max per-gene relative L2 error %.3g, max entry error / gene peak %.3g (1e-4 allowed)\n", worst_l2, worst_entry);

  // dynamo's record of the run.
  EXPECT_EQ(d.uns.at("dynamics/model").text, "stochastic");
  EXPECT_EQ(d.uns.at("dynamics/est_method").text, "gmm");
  EXPECT_EQ(d.uns.at("dynamics/experiment_type").text, "conventional");
  EXPECT_EQ(d.uns.at("dynamics/use_smoothed").array.values.as_double(0), 1.0);
  EXPECT_EQ(d.uns.at("dynamics/NTR_vel").array.values.as_double(0), 0.0);
  const DenseArray& params = std::get<DenseArray>(d.varm.at("vel_params"));
  EXPECT_EQ(params.shape, (std::vector<int64_t>{kGenes, 19}));
  EXPECT_EQ(d.uns.at("vel_params_names").strings[6], "gamma_r2");
}

TEST(DynamicsReference, EveryRankCountGivesTheOneRankBits) {
  VELOFIELD_REQUIRE_REFERENCE(ref_path);
  VELOFIELD_REQUIRE_SHARED(counts, "pancreas_supercell_3696x2000.h5ad");
  // Both estimators, both tails: the distributed run equals a run of all cells on one rank, to the bit.
  for (const std::map<std::string, std::string>& keys :
       {std::map<std::string, std::string>{}, std::map<std::string, std::string>{{"method", "deterministic"}, {"perc_left", "10"}}}) {
    Dataset spread = pancreas_moments(MPI_COMM_WORLD, counts);
    run_dynamics(spread, keys);
    Dataset whole = pancreas_moments(MPI_COMM_SELF, counts);
    run_dynamics(whole, keys);
    for (const char* column : {"gamma", "gamma_r2", "use_for_transition"}) {
      const Array& a = spread.var.columns.at(column).values;
      const Array& b = whole.var.columns.at(column).values;
      ASSERT_EQ(a.bytes(), b.bytes());
      EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.bytes()), 0) << column;
    }
    bool same = spread.layer("velocity_S").index() == whole.layer("velocity_S").index();   // the same storage
    for (int64_t i = 0; i < spread.n_obs_local && same; ++i) {
      const std::vector<double> mine = dense_row(spread.layer("velocity_S"), i);
      const std::vector<double> all = dense_row(whole.layer("velocity_S"), spread.obs_begin + i);
      for (size_t g = 0; g < mine.size() && same; ++g)
        same = mine[g] == all[g] || (std::isnan(mine[g]) && std::isnan(all[g]));
    }
    EXPECT_TRUE(same) << "velocity_S differs from the one-rank run (method " << (keys.empty() ? "stochastic" : "deterministic") << ")";
  }
}
