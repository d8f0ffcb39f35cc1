// `velofield evaluate` (issue 3 acceptance): the stored truth scores cosine 1, its negation -1, a
// random field about 0; CBDir and ICCoh equal hand-computed values on a six-cell fixture, with
// the neighbours from obsp and from an exact kNN; every number is the same at any rank count.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "evaluate/neighbor_lists.hpp"
#include "evaluate/score_summary.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "simulate/simulator.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

const double r = 1.0 / std::sqrt(2.0);

// Six cells, clusters A = {0, 1, 2} and B = {3, 4, 5}:
//   cell  position  embedding velocity  gene velocity
//   0     (0, 0)    (1, 0)              (1, 0, 0)
//   1     (0, 1)    (1, 1)              (1, 1, 0)
//   2     (1, 0)    (0, 1)              (0, 1, 0)
//   3     (2, 0)    (1, 0)              (0, 0, 1)
//   4     (2, 1)    (-1, 0)             (1, 0, 1)
//   5     (3, 0)    (0, -1)             (NaN, 0, 1)   NaN: an unfitted gene, left out of cosines
// Graph (obsp/connectivities, symmetric): 0-1, 0-2, 0-3, 1-4, 2-3, 2-4, 3-4, 3-5, plus a self-loop
// on 0 and an explicit zero 1-5, which must both be ignored.
Dataset fixture(bool with_graph) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, 6, 3);
  d.source = "fixture.h5ad";
  const double pos[6][2] = {{0, 0}, {0, 1}, {1, 0}, {2, 0}, {2, 1}, {3, 0}};
  const double emb[6][2] = {{1, 0}, {1, 1}, {0, 1}, {1, 0}, {-1, 0}, {0, -1}};
  const double nan = std::nan("");
  const double gene[6][3] = {{1, 0, 0}, {1, 1, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 1}, {nan, 0, 1}};
  const int64_t n = d.n_obs_local, b = d.obs_begin;
  DenseArray x = DenseArray::zeros({n, 2}), v = DenseArray::zeros({n, 2}), g = DenseArray::zeros({n, 3});
  std::vector<int8_t> codes;
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < 2; ++k) {
      x.values.data<double>()[i * 2 + k] = pos[b + i][k];
      v.values.data<double>()[i * 2 + k] = emb[b + i][k];
    }
    for (int k = 0; k < 3; ++k) g.values.data<double>()[i * 3 + k] = gene[b + i][k];
    codes.push_back(b + i < 3 ? 0 : 1);
  }
  d.obsm["X_pos"] = x;
  d.obsm["velocity_pos"] = v;
  d.layers["velocity_S"] = g;
  d.obs.set("clusters", Column::categorical(Array::from(codes), {"A", "B"}));
  if (with_graph) {
    const std::vector<std::vector<std::pair<int64_t, double>>> rows = {
        {{0, 0.5}, {1, 1}, {2, 1}, {3, 1}}, {{0, 1}, {4, 1}, {5, 0}}, {{0, 1}, {3, 1}, {4, 1}},
        {{0, 1}, {2, 1}, {4, 1}, {5, 1}},   {{1, 1}, {2, 1}, {3, 1}}, {{1, 0}, {3, 1}}};
    std::vector<int64_t> indptr{0}, cols;
    std::vector<double> vals;
    for (int64_t i = 0; i < n; ++i) {
      for (const auto& [c, w] : rows[static_cast<size_t>(b + i)]) {
        cols.push_back(c);
        vals.push_back(w);
      }
      indptr.push_back(static_cast<int64_t>(cols.size()));
    }
    d.obsp["connectivities"] = DistMatrix::from_local_csr(MPI_COMM_WORLD, n, 6, indptr, cols, vals, DType::f32);
  }
  return d;
}

const GroupScore& group(const std::vector<GroupScore>& groups, const std::string& name) {
  for (const auto& g : groups)
    if (g.name == name) return g;
  throw std::runtime_error("no group " + name);
}

SimulationOptions small_simulation() {
  SimulationOptions o;
  o.n_cells = 1500;
  o.n_genes = 60;
  o.seed = 17;
  return o;
}

// A copy of the stored truth, optionally scaled, as the "estimated" velocity.
void set_velocity_from_truth(Dataset& d, float factor) {
  DenseArray v = std::get<DenseArray>(d.layer("true_velocity_S"));
  float* p = v.values.data<float>();
  for (size_t k = 0; k < v.values.size(); ++k) p[k] *= factor;
  d.layers["velocity_S"] = v;
}

}  // namespace

TEST(Evaluate, CrossBoundaryAndCoherenceOnTheGraphFixture) {
  const Dataset d = fixture(true);
  EvaluateOptions o;
  o.basis = "pos";
  o.transitions = "A>B,B>A";
  const EvaluationReport rep = evaluate_velocity(d, o);
  ASSERT_TRUE(rep.cbdir && rep.iccoh);
  EXPECT_EQ(rep.neighbor_source, "obsp/connectivities");
  // A>B: cell 0 → {3}: cos((2,0),(1,0)) = 1; cell 1 → {4}: cos((2,0),(1,1)) = r;
  //      cell 2 → {3, 4}: cos((1,0),(0,1)) = 0, cos((1,1),(0,1)) = r → r/2.
  const auto& ab = group(*rep.cbdir, "A>B");
  EXPECT_EQ(ab.cells, 3);
  EXPECT_NEAR(ab.score, (1 + r + r / 2) / 3, 1e-12);
  // B>A: cell 3 → {0, 2}: both displacements along -x, velocity +x → -1; cell 4 → {1, 2}:
  //      cos((-2,0),(-1,0)) = 1, cos((-1,-1),(-1,0)) = r → (1 + r)/2; cell 5 has no A neighbour.
  const auto& ba = group(*rep.cbdir, "B>A");
  EXPECT_EQ(ba.cells, 2);
  EXPECT_NEAR(ba.score, (-1 + (1 + r) / 2) / 2, 1e-12);
  EXPECT_NEAR(rep.cbdir_mean, ((1 + r + r / 2) / 3 + (-1 + (1 + r) / 2) / 2) / 2, 1e-12);
  // ICCoh A: cell 0 → {1, 2}: (r + 0)/2; cell 1 → {0}: r; cell 2 → {0}: 0 → r/2.
  // ICCoh B: cell 3 → {4, 5}: (r + 1)/2 (cell 5's NaN gene left out: (0,1)·(0,1) = 1);
  //          cell 4 → {3}: r; cell 5 → {3}: 1 (the zero-weight 1-5 entry is not an edge).
  const auto& a = group(*rep.iccoh, "A");
  const auto& b = group(*rep.iccoh, "B");
  EXPECT_EQ(a.cells, 3);
  EXPECT_NEAR(a.score, r / 2, 1e-7);   // neighbour rows travel as float32
  EXPECT_EQ(b.cells, 3);
  EXPECT_NEAR(b.score, ((r + 1) / 2 + r + 1) / 3, 1e-7);
  EXPECT_NEAR(rep.iccoh_mean, (r / 2 + ((r + 1) / 2 + r + 1) / 3) / 2, 1e-7);
}

TEST(Evaluate, CrossBoundaryAndCoherenceWithExactNearestNeighbours) {
  const Dataset d = fixture(false);
  EvaluateOptions o;
  o.basis = "pos";
  o.transitions = "A>B,B>A";
  o.n_neighbors = 2;
  const EvaluationReport rep = evaluate_velocity(d, o);
  ASSERT_TRUE(rep.cbdir && rep.iccoh);
  EXPECT_EQ(rep.neighbor_source, "exact 2-NN in obsm/X_pos");
  // 2-NN (distance ties by index): 0 → {1, 2}; 1 → {0, 2}; 2 → {0, 3}; 3 → {2, 4} (2, 4, 5 all at 1);
  //   4 → {3, 2} (2 and 5 tie at √2); 5 → {3, 4}.
  // A>B: only cell 2 has a B neighbour (3): cos((1,0),(0,1)) = 0.
  EXPECT_EQ(group(*rep.cbdir, "A>B").cells, 1);
  EXPECT_NEAR(group(*rep.cbdir, "A>B").score, 0.0, 1e-12);
  // B>A: cell 3 → {2}: cos((-1,0),(1,0)) = -1; cell 4 → {2}: cos((-1,-1),(-1,0)) = r.
  EXPECT_EQ(group(*rep.cbdir, "B>A").cells, 2);
  EXPECT_NEAR(group(*rep.cbdir, "B>A").score, (-1 + r) / 2, 1e-12);
  // ICCoh A: cell 0 → {1, 2}: r/2; cell 1 → {0, 2}: (r + r)/2 = r; cell 2 → {0}: 0 → r/2.
  // ICCoh B: cell 3 → {4}: r; cell 4 → {3}: r; cell 5 → {3, 4}: 1 and 1 → (2r + 1)/3.
  EXPECT_NEAR(group(*rep.iccoh, "A").score, r / 2, 1e-7);
  EXPECT_NEAR(group(*rep.iccoh, "B").score, (2 * r + 1) / 3, 1e-7);
}

TEST(Evaluate, TruthScoresOneItsNegationMinusOneNoiseAboutZero) {
  Dataset d = simulate(MPI_COMM_WORLD, small_simulation());
  EvaluateOptions o;
  set_velocity_from_truth(d, 1.0f);
  EvaluationReport rep = evaluate_velocity(d, o);
  ASSERT_TRUE(rep.gene_cosine);
  EXPECT_NEAR(rep.gene_cosine->summary.mean, 1.0, 1e-9);
  EXPECT_NEAR(rep.gene_cosine->summary.median, 1.0, 1e-9);
  EXPECT_EQ(rep.gene_cosine->summary.fraction_positive, 1.0);
  EXPECT_EQ(rep.gene_cosine->summary.count + rep.gene_cosine->cells_without_truth, d.n_obs);
  EXPECT_LT(rep.gene_cosine->cells_without_truth, d.n_obs / 100);
  EXPECT_EQ(rep.gene_cosine->values_per_cell, d.n_vars);

  set_velocity_from_truth(d, -1.0f);
  rep = evaluate_velocity(d, o);
  EXPECT_NEAR(rep.gene_cosine->summary.mean, -1.0, 1e-9);
  EXPECT_NEAR(rep.gene_cosine->summary.median, -1.0, 1e-9);
  EXPECT_EQ(rep.gene_cosine->summary.fraction_positive, 0.0);

  // Random directions: per-cell cosine ~ N(0, 1/G); the mean of 1500 of them is within ~0.003.
  DenseArray noise = DenseArray::zeros({d.n_obs_local, d.n_vars}, DType::f32);
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    std::mt19937_64 gen(static_cast<uint64_t>(d.obs_begin + i));   // keyed by the global cell
    std::normal_distribution<float> z;
    for (int64_t j = 0; j < d.n_vars; ++j) noise.values.data<float>()[i * d.n_vars + j] = z(gen);
  }
  d.layers["velocity_S"] = noise;
  rep = evaluate_velocity(d, o);
  EXPECT_LT(std::fabs(rep.gene_cosine->summary.mean), 0.02);
  EXPECT_LT(std::fabs(rep.gene_cosine->summary.median), 0.03);
  EXPECT_NEAR(rep.gene_cosine->summary.fraction_positive, 0.5, 0.05);
}

TEST(Evaluate, NanGenesAreIgnoredAndASubsetTruthCoversItsGenesOnly) {
  SimulationOptions so = small_simulation();
  Dataset d = simulate(MPI_COMM_WORLD, so);
  set_velocity_from_truth(d, 2.0f);   // a scale does not change a cosine
  float* v = std::get<DenseArray>(d.layers["velocity_S"]).values.data<float>();
  for (int64_t i = 0; i < d.n_obs_local; ++i)
    for (int64_t j = 0; j < 5; ++j) v[i * d.n_vars + j] = std::nanf("");
  EvaluationReport rep = evaluate_velocity(d, EvaluateOptions{});
  EXPECT_NEAR(rep.gene_cosine->summary.mean, 1.0, 1e-9);
  EXPECT_EQ(rep.gene_cosine->nonfinite_columns, 5);

  // true_velocity_S over 10 genes (CSR): the estimate's other genes do not count.
  so.truth_max_entries = so.n_cells * 10;
  Dataset sub = simulate(MPI_COMM_WORLD, so);
  const CsrMatrix& t = std::get<CsrMatrix>(sub.layer("true_velocity_S"));
  DenseArray est = DenseArray::zeros({sub.n_obs_local, sub.n_vars}, DType::f32);
  for (int64_t i = 0; i < sub.n_obs_local; ++i) {
    for (int64_t j = 0; j < sub.n_vars; ++j) est.values.data<float>()[i * sub.n_vars + j] = 100.0f;   // wrong, uncovered
    for (int64_t k = t.indptr[static_cast<size_t>(i)]; k < t.indptr[static_cast<size_t>(i + 1)]; ++k)
      est.values.data<float>()[i * sub.n_vars + t.index(k)] = t.data.data<float>()[k];
  }
  sub.layers["velocity_S"] = est;
  rep = evaluate_velocity(sub, EvaluateOptions{});
  EXPECT_EQ(rep.gene_cosine->values_per_cell, 10);
  EXPECT_NEAR(rep.gene_cosine->summary.mean, 1.0, 1e-9);
}

TEST(Evaluate, SimulatedTreeDirectionsAndRankIndependentReport) {
  Dataset d = simulate(MPI_COMM_WORLD, small_simulation());
  set_velocity_from_truth(d, 1.0f);
  d.obsm["velocity_true_2d"] = d.obsm.at("true_velocity_true_2d");
  EvaluateOptions o;
  o.basis = "true_2d";   // transitions come from uns/simulation/transitions
  const EvaluationReport rep = evaluate_velocity(d, o);
  ASSERT_TRUE(rep.cbdir && rep.iccoh && rep.embedding_cosine);
  EXPECT_EQ(rep.transitions_origin, "uns/simulation/transitions");
  EXPECT_NEAR(rep.embedding_cosine->summary.mean, 1.0, 1e-12);
  // The tree's own direction crosses every boundary forwards.
  for (const auto& g : *rep.cbdir) EXPECT_GT(g.score, 0.3) << g.name;
  EXPECT_GT(rep.iccoh_mean, 0.5);
  // The report is identical when a single rank computes it.
  int same = 1;
  if (test::rank() == 0) {
    Dataset one = simulate(MPI_COMM_SELF, small_simulation());
    set_velocity_from_truth(one, 1.0f);
    one.obsm["velocity_true_2d"] = one.obsm.at("true_velocity_true_2d");
    same = evaluate_velocity(one, o).json() == rep.json();
  }
  MPI_Bcast(&same, 1, MPI_INT, 0, MPI_COMM_WORLD);
  EXPECT_EQ(same, 1) << rep.json();
}

TEST(Evaluate, CoherenceIsTheSameWhateverTheFetchBlockSize) {
  // Tiny blocks force many collective rounds, and ranks with fewer cells wait through the others'.
  Dataset d = simulate(MPI_COMM_WORLD, small_simulation());
  set_velocity_from_truth(d, 1.0f);
  EvaluateOptions o;
  o.basis = "true_2d";
  o.n_neighbors = 10;
  d.obsm["velocity_true_2d"] = d.obsm.at("true_velocity_true_2d");
  const std::vector<double> positions = gather_dense_rows(d, d.obsm_dense("X_true_2d"));
  const NeighborLists nb = neighbors_from_embedding(d, positions, 2, 10, "X_true_2d");
  const Column& clusters = d.obs.columns.at("clusters");
  const std::vector<int32_t> codes = gather_codes(d, clusters);
  const Matrix& v = d.layer("velocity_S");
  const auto whole = in_cluster_coherence(MPI_COMM_WORLD, d.partition(), d.obs_begin, codes, clusters.categories, nb, v);
  const auto tiny = in_cluster_coherence(MPI_COMM_WORLD, d.partition(), d.obs_begin, codes, clusters.categories, nb, v,
                                         4 * d.n_vars * 7 + test::rank() * 4 * d.n_vars * 5);
  ASSERT_EQ(whole.size(), tiny.size());
  for (size_t g = 0; g < whole.size(); ++g) {
    EXPECT_EQ(whole[g].cells, tiny[g].cells);
    EXPECT_EQ(whole[g].score, tiny[g].score) << whole[g].name;
  }
  EXPECT_EQ(evaluate_velocity(d, o).iccoh_mean, mean_over_groups(whole));
}

TEST(Evaluate, ExactMedianOverRanks) {
  // Global values 0, 1, ..., 100 spread unevenly over ranks: the median is 50 exactly.
  std::vector<double> mine;
  for (int v = 0; v <= 100; ++v)
    if (v % test::ranks() == test::rank()) mine.push_back(v / 100.0);
  const ScoreSummary s = summarize_scores(mine, MPI_COMM_WORLD);
  EXPECT_EQ(s.count, 101);
  EXPECT_EQ(s.median, 0.5);
  EXPECT_NEAR(s.mean, 0.5, 1e-15);
  mine.push_back(test::rank() == 0 ? 1.0 : 0.5);   // even counts: mean of the middle two
  const ScoreSummary e = summarize_scores(mine, MPI_COMM_WORLD);
  EXPECT_EQ(e.count, 101 + test::ranks());
}

TEST(Evaluate, ErrorsNameTheFileAndKeyOnEveryRank) {
  const Dataset d = fixture(true);
  EvaluateOptions o;
  o.basis = "pos";
  o.transitions = "A>C";
  auto message = [&](const EvaluateOptions& opts) {
    try {
      evaluate_velocity(d, opts);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(o), "fixture.h5ad: --transitions: no cluster 'C' in obs/clusters (clusters: A, B)");
  o.transitions = "A>B";
  o.velocity = "velocity_U";
  EXPECT_EQ(message(o).rfind("fixture.h5ad: layers/velocity_U: layer not present", 0), 0u) << message(o);
  o.velocity = "velocity_S";
  o.basis = "";
  EXPECT_EQ(message(o), "fixture.h5ad: --basis: CBDir needs an embedding (--basis) and the velocity in it");
  o.truth = "true_velocity_S";
  o.truth_required = true;
  o.basis = "pos";
  EXPECT_EQ(message(o).rfind("fixture.h5ad: layers/true_velocity_S: layer not present", 0), 0u) << message(o);
}
