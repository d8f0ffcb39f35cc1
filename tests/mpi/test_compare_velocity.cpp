// `compare-velocity` (issue 12, consensus) on the simulator's data, whose true velocity is known:
// identical methods agree exactly (1 in every cell), a velocity and its negation disagree (-1
// exactly in the agreement arithmetic, and strongly through the transition-matrix projection), the
// consensus of the truth and a noisy copy is closer to the truth than the noisy copy, every result is
// the same at 1, 2 and 3 ranks, the report and the figure are written, and bad input names its key.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compare/velocity_consensus.hpp"
#include "core/error.hpp"
#include "core/gather.hpp"
#include "evaluate/score_summary.hpp"
#include "evaluate/velocity_rows.hpp"
#include "pipeline/stage.hpp"
#include "test_support.hpp"
#include "transition_fixture.hpp"

using namespace velofield;

namespace {

// A value in [-1, 1) from (cell, gene) alone, so the noise does not depend on the rank count.
double hashed_noise(int64_t cell, int64_t gene) {
  uint64_t x = static_cast<uint64_t>(cell) * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(gene) * 0xBF58476D1CE4E5B9ull + 1;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 29;
  return static_cast<double>(x >> 11) / static_cast<double>(uint64_t{1} << 52) - 1.0;
}

// 300 simulated cells × 30 genes with the inputs of cell-velocities, X_pca (the moments themselves:
// a 30-dimensional embedding), X_umap (the simulator's 2-D layout) and four velocities to compare:
// the truth, a copy, its negation, and the truth plus noise of its own size.
Dataset fixture(MPI_Comm comm) {
  SimulationOptions o;
  o.n_cells = 300;
  o.n_genes = 30;
  o.seed = 7;
  Dataset d = test::simulated_transition_inputs(comm, o);
  const DenseArray& ms = d.obsm_dense("X_true_2d");
  d.obsm["X_umap"] = ms;
  const DenseArray& m_s = std::get<DenseArray>(d.layer("M_s"));
  DenseArray pca = DenseArray::zeros({d.n_obs_local, d.n_vars});
  for (size_t k = 0; k < pca.values.size(); ++k) pca.values.data<double>()[k] = std::log1p(m_s.values.as_double(k));
  d.obsm["X_pca"] = pca;
  const Matrix truth = d.layer("true_velocity_S");
  const RowReader reader(truth);
  const int64_t G = d.n_vars;
  DenseArray same = DenseArray::zeros({d.n_obs_local, G}), negated = same, noisy = same;
  std::vector<double> row(static_cast<size_t>(G));
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    reader.read(i, row.data());
    double norm = 0;
    for (double v : row) norm += v * v;
    norm = std::sqrt(norm / static_cast<double>(G));
    for (int64_t g = 0; g < G; ++g) {
      const double v = row[static_cast<size_t>(g)];
      same.values.data<double>()[i * G + g] = v;
      negated.values.data<double>()[i * G + g] = -v;
      noisy.values.data<double>()[i * G + g] = v + 1.5 * norm * hashed_noise(d.obs_begin + i, g);
    }
  }
  d.layers["velocity_S_truth"] = truth;
  d.layers["velocity_S_copy"] = same;
  d.layers["velocity_S_negated"] = negated;
  d.layers["velocity_S_noisy"] = noisy;
  d.layers.erase("velocity_S");
  return d;
}

const Stage& stage() {
  register_builtin_stages();
  const Stage* s = find_stage("compare-velocity");
  if (!s) throw Error("compare-velocity is not registered");
  return *s;
}

void compare(Dataset& d, const std::string& methods, const std::map<std::string, std::string>& extra = {}) {
  Config c;
  c.set("compare-velocity", "methods", methods);
  for (const auto& kv : extra) c.set("compare-velocity", kv.first, kv.second);
  const StageConfig sc(c, "compare-velocity", stage().keys);
  stage().run(d, sc);
}

std::vector<double> agreement_of(const Dataset& d) {
  return d.obs.columns.at("velocity_agreement").values.to_double();
}

std::vector<double> uns_numbers(const Dataset& d, const std::string& key) {
  return d.uns.at("velocity_comparison/" + key).array.values.to_double();
}

// All cells' values of a dense or CSR layer, in cell order, on every rank.
std::vector<double> gathered_layer(const Dataset& d, const std::string& key) {
  const RowReader r(d.layer(key));
  std::vector<double> local(static_cast<size_t>(d.n_obs_local * r.cols()));
  for (int64_t i = 0; i < d.n_obs_local; ++i) r.read(i, local.data() + i * r.cols());
  return gather_concat(d.comm, local);
}

}  // namespace

TEST(CompareVelocity, IdenticalMethodsAgreeExactly) {
  Dataset d = fixture(MPI_COMM_WORLD);
  compare(d, "truth,copy");
  for (double a : agreement_of(d)) EXPECT_EQ(a, 1.0);
  const std::vector<double> m = uns_numbers(d, "agreement_median");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1], 1.0);
  EXPECT_EQ(m[2], 1.0);
  // Two identical methods: the consensus is the truth over its per-gene RMS (float32).
  const std::vector<double> consensus = gathered_layer(d, "velocity_S"), truth = gathered_layer(d, "true_velocity_S");
  const int64_t G = d.n_vars;
  std::vector<double> rms(static_cast<size_t>(G), 0.0);
  for (size_t k = 0; k < truth.size(); ++k) rms[k % static_cast<size_t>(G)] += truth[k] * truth[k];
  double worst = 0;
  for (size_t k = 0; k < truth.size(); ++k) {
    const double s = std::sqrt(rms[k % static_cast<size_t>(G)] / static_cast<double>(d.n_obs));
    if (s > 0) worst = std::max(worst, std::fabs(consensus[k] - truth[k] / s));
  }
  EXPECT_LT(worst, 1e-5);
  EXPECT_EQ(d.uns.at("velocity_comparison/genes").strings.size(), static_cast<size_t>(G));
}

TEST(CompareVelocity, NegationDisagrees) {
  // The arithmetic: a projected velocity against its negation is -1 in every cell.
  const int64_t n = 5;
  DenseArray p = DenseArray::zeros({n, 3}), q = DenseArray::zeros({n, 3});
  for (int64_t k = 0; k < n * 3; ++k) {
    p.values.data<double>()[k] = std::sin(0.7 * static_cast<double>(k) + test::rank());
    q.values.data<double>()[k] = -p.values.data<double>()[k];
  }
  const AgreementResult r = velocity_agreement(MPI_COMM_WORLD, {&p, &q});
  for (double a : r.per_cell) EXPECT_EQ(a, -1.0);
  EXPECT_EQ(r.matrix[1], -1.0);
  // Through the stage: the two velocities give two transition matrices, whose projections point
  // (almost) opposite ways.
  Dataset d = fixture(MPI_COMM_WORLD);
  compare(d, "truth,negated");
  const std::vector<double> m = uns_numbers(d, "agreement_median");
  const ScoreSummary cells = summarize_scores(agreement_of(d), d.comm);
  if (test::rank() == 0) std::printf("truth vs negated: median cosine %.4f, mean per-cell agreement %.4f\n", m[1], cells.mean);
  EXPECT_LT(m[1], -0.9);
  EXPECT_LT(cells.mean, -0.8);
}

TEST(CompareVelocity, ConsensusIsCloserToTheTruthThanTheNoisyMethod) {
  Dataset d = fixture(MPI_COMM_WORLD);
  compare(d, "truth,noisy");
  const std::vector<double> consensus = gathered_layer(d, "velocity_S"), truth = gathered_layer(d, "true_velocity_S"),
                            noisy = gathered_layer(d, "velocity_S_noisy");
  // Per-cell cosines to the truth, each velocity over its own per-gene RMS (the consensus's units).
  const size_t G = static_cast<size_t>(d.n_vars), N = static_cast<size_t>(d.n_obs);
  auto rms_of = [&](const std::vector<double>& v) {
    std::vector<double> s(G, 0.0);
    for (size_t k = 0; k < v.size(); ++k) s[k % G] += v[k] * v[k];
    for (double& x : s) x = std::sqrt(x / static_cast<double>(N));
    return s;
  };
  const std::vector<double> st = rms_of(truth), sn = rms_of(noisy);
  double cos_consensus = 0, cos_noisy = 0;
  for (size_t i = 0; i < N; ++i) {
    CosineParts a, b;
    for (size_t g = 0; g < G; ++g) {
      const double t = st[g] > 0 ? truth[i * G + g] / st[g] : 0;
      a.add(consensus[i * G + g], t);
      b.add(sn[g] > 0 ? noisy[i * G + g] / sn[g] : 0, t);
    }
    cos_consensus += a.cosine() / static_cast<double>(N);
    cos_noisy += b.cosine() / static_cast<double>(N);
  }
  if (test::rank() == 0) std::printf("mean cosine to the truth: consensus %.4f, noisy %.4f\n", cos_consensus, cos_noisy);
  EXPECT_GT(cos_consensus, cos_noisy + 0.1);
  EXPECT_GT(cos_consensus, 0.8);
  // The truth agrees with the others more than the noise does... with two methods both weights are
  // the same cosine; the mean weights are therefore equal and positive.
  const std::vector<double> w = uns_numbers(d, "mean_weight");
  EXPECT_GT(w[0], 0.0);
  EXPECT_DOUBLE_EQ(w[0], w[1]);
}

TEST(CompareVelocity, SameAtAnyRankCount) {
  Dataset d = fixture(MPI_COMM_WORLD);
  compare(d, "truth,noisy,negated");
  const std::vector<double> agreement = gather_concat(d.comm, agreement_of(d));
  const std::vector<double> consensus = gathered_layer(d, "velocity_S");
  const std::vector<double> matrix = uns_numbers(d, "agreement_median"), cbdir = uns_numbers(d, "cbdir");
  // The same on one rank (rank 0 alone, on MPI_COMM_SELF).
  if (test::rank() == 0) {
    Dataset one = fixture(MPI_COMM_SELF);
    compare(one, "truth,noisy,negated");
    EXPECT_EQ(agreement_of(one), agreement);
    EXPECT_EQ(gathered_layer(one, "velocity_S"), consensus);
    EXPECT_EQ(uns_numbers(one, "agreement_median"), matrix);
    EXPECT_EQ(uns_numbers(one, "cbdir"), cbdir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(CompareVelocity, WritesReportAndFigure) {
  Dataset d = fixture(MPI_COMM_WORLD);
  const std::string dir = test::temp_dir();
  compare(d, "truth,noisy", {{"report", dir + "/cmp/report.md"}, {"figure", dir + "/cmp/figure.png"}});
  // CBDir on the simulator's transitions (uns/simulation/transitions): the truth points across the
  // boundaries, the consensus too.
  const std::vector<double> cbdir = uns_numbers(d, "cbdir");
  ASSERT_EQ(cbdir.size(), 3u);
  if (test::rank() == 0) std::printf("CBDir: truth %.4f, noisy %.4f, consensus %.4f\n", cbdir[0], cbdir[1], cbdir[2]);
  EXPECT_GT(cbdir[0], 0.3);
  EXPECT_GT(cbdir[2], 0.3);
  if (test::rank() == 0) {
    std::ifstream f(dir + "/cmp/report.md");
    std::stringstream text;
    text << f.rdbuf();
    EXPECT_NE(text.str().find("| truth | read |"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("Agreement matrix"), std::string::npos);
    EXPECT_NE(text.str().find("| consensus |"), std::string::npos);
    std::ifstream png(dir + "/cmp/figure.png", std::ios::binary);
    char magic[8] = {};
    png.read(magic, 8);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG");
    EXPECT_GT(std::filesystem::file_size(dir + "/cmp/figure.png"), 20000u);
    EXPECT_FALSE(std::filesystem::exists(dir + "/cmp/figure.png.panel0.png"));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(CompareVelocity, BadInputNamesTheKey) {
  Dataset d = fixture(MPI_COMM_WORLD);
  std::string e = test::error_of([&] { compare(d, "truth,nosuch"); });
  EXPECT_NE(e.find("compare-velocity.methods"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown velocity method 'nosuch'"), std::string::npos) << e;
  e = test::error_of([&] { compare(d, "truth"); });
  EXPECT_NE(e.find("compare-velocity.methods: expected at least two methods"), std::string::npos) << e;
  // A registered method whose input layers are missing: the method's own error names the layer.
  e = test::error_of([&] { compare(d, "truth,stochastic"); });
  EXPECT_NE(e.find("layers/M_"), std::string::npos) << e;
  e = test::error_of([&] { compare(d, "truth,copy", {{"dynamics_options", "max_epochz=3"}}); });
  EXPECT_NE(e.find("compare-velocity.dynamics_options"), std::string::npos) << e;
  d.obsm.erase("X_pca");
  e = test::error_of([&] { compare(d, "truth,copy"); });
  EXPECT_NE(e.find("obsm/X_pca"), std::string::npos) << e;
  // Every rank reports the same message.
  for (const auto& other : test::all_gather(e)) EXPECT_EQ(other, e);
}
