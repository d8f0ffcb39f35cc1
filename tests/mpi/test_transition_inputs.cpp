// What cell-velocities does with the inputs it is given: clear, collective errors for the bad ones
// (every rank throws the same "FILE: KEY: PROBLEM" message, even when only one rank holds the bad
// value), dynamo's rule for the transition genes when a file lacks var/use_for_transition, and
// reuse of a stored matrix as dynamo does (unless enforce).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/config.hpp"
#include "test_support.hpp"
#include "transition/cell_velocities_stage.hpp"
#include "transition/transition_genes.hpp"
#include "transition_fixture.hpp"

using namespace velofield;

namespace {

void run_cell_velocities(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = cell_velocities_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("cell-velocities", k, v);
  stage.run(d, StageConfig(config, "cell-velocities", stage.keys));
}

Dataset small_inputs() {
  SimulationOptions o;
  o.n_cells = 300;
  o.n_genes = 30;
  o.seed = 2;
  Dataset d = test::simulated_transition_inputs(MPI_COMM_WORLD, o);
  d.source = "in.h5ad";
  return d;
}

// The message every rank got (they must all be the same).
std::string collective_error(Dataset& d, const std::map<std::string, std::string>& keys) {
  const std::string message = test::error_of([&] { run_cell_velocities(d, keys); });
  for (const auto& m : test::all_gather(message)) EXPECT_EQ(m, message) << "ranks disagree";
  return message;
}

void set_on_last_cell(Dataset& d, const std::string& layer, int64_t gene, float value) {
  if (d.obs_begin + d.n_obs_local != d.n_obs || d.n_obs_local == 0) return;   // only the rank holding the last cell
  DenseArray& a = std::get<DenseArray>(d.layers.at(layer));
  a.values.data<float>()[(d.n_obs_local - 1) * a.row_stride() + gene] = value;
}

}  // namespace

TEST(TransitionInputs, NoTransitionGenes) {
  Dataset d = small_inputs();
  d.var.set("use_for_transition", Column::numeric(Array::from(std::vector<uint8_t>(30, 0), DType::boolean)));
  EXPECT_EQ(collective_error(d, {{"basis", "true_2d"}}),
            "in.h5ad: var/use_for_transition: no gene is marked for transition (0 of 30): the transition matrix needs the genes "
            "whose velocity was fitted; rerun `velofield dynamics` or mark genes");
}

TEST(TransitionInputs, BasisThatDoesNotExist) {
  Dataset d = small_inputs();
  const std::string m = collective_error(d, {{"basis", "tsne"}});
  EXPECT_EQ(m.rfind("in.h5ad: obsm/X_tsne: not present", 0), 0u) << m;
  EXPECT_NE(m.find("X_true_2d"), std::string::npos) << "lists what there is: " << m;
  EXPECT_EQ(d.obsp.count("pearson_transition_matrix"), 0u) << "checked before the matrix is built";
}

TEST(TransitionInputs, NaNVelocityOnOneRank) {
  Dataset d = small_inputs();
  set_on_last_cell(d, "velocity_S", 5, std::nanf(""));
  EXPECT_EQ(collective_error(d, {{"basis", "true_2d"}}),
            "in.h5ad: layers/velocity_S: 1 NaN/Inf value(s) in the transition genes (first: cell 299, gene 'gene_5'); the "
            "transition kernel needs finite velocities: clear var/use_for_transition for genes without a fit");
}

TEST(TransitionInputs, NaNVelocityOutsideTheTransitionGenesIsIgnored) {
  Dataset d = small_inputs();
  set_on_last_cell(d, "velocity_S", 5, std::nanf(""));
  std::vector<uint8_t> use(30, 1);
  use[5] = 0;   // dynamo: unfitted genes hold NaN and are not transition genes
  d.var.set("use_for_transition", Column::numeric(Array::from(use, DType::boolean)));
  EXPECT_EQ(collective_error(d, {{"basis", "true_2d"}}), "<no exception>");
  const DenseArray& v = d.obsm_dense("velocity_true_2d");
  int64_t nan_cells = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i) nan_cells += std::isnan(v.values.as_double(static_cast<size_t>(2 * i)));
  MPI_Allreduce(MPI_IN_PLACE, &nan_cells, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(nan_cells, 0);
}

TEST(TransitionInputs, InfExpression) {
  Dataset d = small_inputs();
  set_on_last_cell(d, "M_s", 7, INFINITY);
  EXPECT_EQ(collective_error(d, {{"basis", "true_2d"}}),
            "in.h5ad: layers/M_s: 1 NaN/Inf value(s) in the transition genes (first: cell 299, gene 'gene_7'); the transition "
            "kernel needs finite expressions");
}

TEST(TransitionInputs, NaNEmbedding) {
  Dataset d = small_inputs();
  if (d.obs_begin == 0 && d.n_obs_local > 3) std::get<DenseArray>(d.obsm.at("X_true_2d")).values.data<double>()[7] = std::nan("");
  EXPECT_EQ(collective_error(d, {{"basis", "true_2d"}}),
            "in.h5ad: obsm/X_true_2d: cell 3 has a non-finite coordinate; the projection needs finite positions");
}

TEST(TransitionInputs, MissingGraphAndLayers) {
  Dataset d = small_inputs();
  d.obsp.erase("distances");
  const std::string m = collective_error(d, {{"basis", "true_2d"}});
  EXPECT_EQ(m.rfind("in.h5ad: obsp/distances: not present (obsp has: nothing); the transition matrix needs the kNN distances", 0), 0u) << m;
  Dataset e = small_inputs();
  e.layers.erase("M_s");
  EXPECT_EQ(collective_error(e, {{"basis", "true_2d"}}).rfind("in.h5ad: layers/M_s: layer not present", 0), 0u);
}

TEST(TransitionInputs, BadOptions) {
  Dataset d = small_inputs();
  EXPECT_EQ(collective_error(d, {{"method", "kmc"}}), "--cell-velocities.method: unknown method 'kmc' (known: pearson, cosine, correlation)");
  EXPECT_EQ(collective_error(d, {{"transform", "exp"}}),
            "--cell-velocities.transform: unknown transform 'exp' (known: sqrt, log, logratio, linear)");
  EXPECT_EQ(collective_error(d, {{"n_recurse_neighbors", "3"}}), "--cell-velocities.n_recurse_neighbors: expected 1 or 2, found 3");
  EXPECT_EQ(collective_error(d, {{"xy_grid_nums", "50, 40"}}),
            "--cell-velocities.xy_grid_nums: expected one count of grid points per axis (≥ 2), or two equal ones, found '50, 40'");
}

TEST(TransitionInputs, TransitionGenesFromTheFittedKinetics) {
  Dataset d = small_inputs();
  d.var.columns.erase("use_for_transition");
  d.var.column_order.erase(std::remove(d.var.column_order.begin(), d.var.column_order.end(), "use_for_transition"), d.var.column_order.end());
  EXPECT_NE(collective_error(d, {{"basis", "true_2d"}}).find("var/use_for_transition: not present, and var has no numeric 'gamma'"),
            std::string::npos);
  // dynamo's rule: gamma > 0.01 and gamma_r2 > 0.01 (and use_for_dynamics); NaN fails.
  std::vector<double> gamma(30, 0.5), r2(30, 0.5);
  gamma[1] = 0.005;
  r2[2] = 0.0;
  gamma[3] = std::nan("");
  std::vector<uint8_t> dynamics(30, 1);
  dynamics[4] = 0;
  d.var.set("gamma", Column::numeric(Array::from(gamma)));
  d.var.set("gamma_r2", Column::numeric(Array::from(r2)));
  d.var.set("use_for_dynamics", Column::numeric(Array::from(dynamics, DType::boolean)));
  TransitionGenes genes = transition_genes(d);
  EXPECT_TRUE(genes.derived);
  EXPECT_EQ(genes.genes.size(), 26u);
  for (int64_t g : {1, 2, 3, 4}) EXPECT_EQ(std::count(genes.genes.begin(), genes.genes.end(), g), 0) << g;
  // Fewer than 5 pass: the 50 (here: all fitted) genes of largest |gamma_r2|, not dynamo's shifted positions.
  std::vector<double> low(30, 0.001), weak(30, std::nan(""));
  for (int g = 10; g < 16; ++g) weak[static_cast<size_t>(g)] = 0.001 * g;
  d.var.set("gamma", Column::numeric(Array::from(low)));
  d.var.set("gamma_r2", Column::numeric(Array::from(weak)));
  genes = transition_genes(d);
  EXPECT_EQ(genes.genes, (std::vector<int64_t>{10, 11, 12, 13, 14, 15}));
  // The stage writes the derived column back, as dynamo does.
  d.var.set("gamma_r2", Column::numeric(Array::from(r2)));
  d.var.set("gamma", Column::numeric(Array::from(gamma)));
  EXPECT_EQ(collective_error(d, {{"basis", "true_2d"}}), "<no exception>");
  ASSERT_TRUE(d.var.has("use_for_transition"));
  EXPECT_EQ(d.var.columns.at("use_for_transition").values.as_int64(1), 0);
  EXPECT_EQ(d.var.columns.at("use_for_transition").values.as_int64(0), 1);
}

TEST(TransitionInputs, StoredMatrixIsReusedUnlessEnforced) {
  Dataset d = small_inputs();
  run_cell_velocities(d, {{"basis", "true_2d"}});
  const DenseArray first = d.obsm_dense("velocity_true_2d");
  // New velocities: dynamo reuses the stored matrix (enforce=False), so the projection is unchanged.
  DenseArray& v = std::get<DenseArray>(d.layers.at("velocity_S"));
  for (size_t k = 0; k < v.values.size(); ++k) v.values.data<float>()[k] = -v.values.data<float>()[k];
  run_cell_velocities(d, {{"basis", "true_2d"}});
  EXPECT_TRUE(d.obsm_dense("velocity_true_2d") == first);
  run_cell_velocities(d, {{"basis", "true_2d"}, {"enforce", "true"}});
  // Negated velocities negate every correlation: the projection turns around.
  const DenseArray& again = d.obsm_dense("velocity_true_2d");
  double dot = 0, n1 = 0, n2 = 0;
  for (size_t k = 0; k < first.values.size(); ++k) {
    dot += first.values.as_double(k) * again.values.as_double(k);
    n1 += first.values.as_double(k) * first.values.as_double(k);
    n2 += again.values.as_double(k) * again.values.as_double(k);
  }
  MPI_Allreduce(MPI_IN_PLACE, &dot, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &n1, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &n2, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_LT(dot / std::sqrt(n1 * n2), -0.5);
}

TEST(TransitionInputs, MoreRanksThanCells) {
  // Two cells: at 3 ranks one rank holds none, and still takes part in every collective step.
  Dataset d = Dataset::create(MPI_COMM_WORLD, 2, 3);
  d.source = "tiny.h5ad";
  const double ms[2][3] = {{1, 2, 3}, {2, 2, 5}}, v[2][3] = {{1, 0.5, 2}, {-1, 0, 1}};
  DenseArray m = DenseArray::zeros({d.n_obs_local, 3}), vel = DenseArray::zeros({d.n_obs_local, 3}), e = DenseArray::zeros({d.n_obs_local, 2});
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> dist;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const int64_t g = d.obs_begin + i;
    for (int k = 0; k < 3; ++k) {
      m.values.data<double>()[i * 3 + k] = ms[g][k];
      vel.values.data<double>()[i * 3 + k] = v[g][k];
    }
    e.values.data<double>()[i * 2] = static_cast<double>(g);
    cols.push_back(1 - g);
    dist.push_back(1.0);
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  d.layers["M_s"] = m;
  d.layers["velocity_S"] = vel;
  d.obsm["X_umap"] = e;
  d.obsp["distances"] = DistMatrix::from_local_csr(MPI_COMM_WORLD, d.n_obs_local, 2, indptr, cols, dist, DType::f32);
  d.var.set("use_for_transition", Column::numeric(Array::from(std::vector<uint8_t>(3, 1), DType::boolean)));
  EXPECT_EQ(collective_error(d, {{"xy_grid_nums", "5"}}), "<no exception>");
  // Cell 0 moves towards cell 1: one positive entry, which the density correction (its row's mean)
  // cancels, so velocity 0. Cell 1's velocity sums to exactly 0: dynamo skips it, an empty row,
  // NaN velocity (quirk 12).
  const DenseArray& out = d.obsm_dense("velocity_umap");
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const double x = out.values.as_double(static_cast<size_t>(2 * i)), y = out.values.as_double(static_cast<size_t>(2 * i + 1));
    if (d.obs_begin + i == 0) {
      EXPECT_EQ(x, 0.0);
      EXPECT_EQ(y, 0.0);
    } else {
      EXPECT_TRUE(std::isnan(x) && std::isnan(y));
    }
  }
  int64_t entries = d.obsp.at("pearson_transition_matrix").local_nnz();
  MPI_Allreduce(MPI_IN_PLACE, &entries, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(entries, 1);
}
