// DeepVelo: the GCN's normalised multigraph against DGL's formula on a hand-built graph; the
// differentiable halo exchange against its closed form; the weights after N full-batch steps at 2
// and 3 ranks equal a one-process run's; on a simulation the velocity points along the true one
// (above a gene-shuffled baseline) and the loss decreases; bad input is a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/config.hpp"
#include "core/partition.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "neighbors/exact_knn.hpp"
#include "neighbors/fuzzy_graph.hpp"
#include "simulate/simulator.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/layer_reader.hpp"
#include "velocity/models/data_parallel.hpp"
#include "velocity/models/deepvelo_graph.hpp"
#include "velocity/models/deepvelo_halo.hpp"
#include "velocity/models/deepvelo_model.hpp"

using namespace velofield;
using namespace velofield::models;

namespace {

void run_deepvelo(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = dynamics_stage();
  Config config;
  config.set("dynamics", "method", "deepvelo");
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  stage.run(d, StageConfig(config, "dynamics", stage.keys));
}

// This rank's rows of a layer, row-major.
std::vector<double> rows_of_layer(const Dataset& d, const std::string& name) {
  LayerReader r(d.layer(name));
  std::vector<int64_t> genes(static_cast<size_t>(d.n_vars));
  std::iota(genes.begin(), genes.end(), int64_t{0});
  std::vector<double> cols(static_cast<size_t>(d.n_obs_local * d.n_vars)), rows(cols.size());
  r.read_columns(genes.data(), d.n_vars, cols.data());
  for (int64_t g = 0; g < d.n_vars; ++g)
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      rows[static_cast<size_t>(i * d.n_vars + g)] = cols[static_cast<size_t>(g * d.n_obs_local + i)];
  return rows;
}

// A simulated trajectory with M_s/M_u = the expected abundances and obsp/distances = the exact
// 30-NN (self included) in log1p(M_s), as the moments stage would write it.
Dataset simulated(MPI_Comm comm, int64_t cells, int64_t genes) {
  SimulationOptions o;
  o.n_cells = cells;
  o.n_genes = genes;
  o.n_lineages = 1;
  o.seed = 11;
  o.noise_free = true;
  Dataset d = simulate(comm, o);
  d.source = "sim.h5ad";
  d.layers["M_s"] = d.layers.at("spliced");
  d.layers["M_u"] = d.layers.at("unspliced");
  KnnPoints p;
  p.comm = comm;
  p.partition = d.partition();
  p.dim = static_cast<int>(d.n_vars);
  p.local = rows_of_layer(d, "M_s");
  for (double& x : p.local) x = std::log1p(x);
  const KnnGraph knn = exact_knn(p, static_cast<int>(std::min<int64_t>(30, cells)));
  d.obsp["distances"] = knn_distance_matrix(comm, knn, d.n_obs);
  return d;
}

DeepveloInput input_of(const Dataset& d) {
  DeepveloInput in;
  in.n_cells = d.n_obs;
  in.begin = d.obs_begin;
  in.end = d.obs_begin + d.n_obs_local;
  in.n_genes = d.n_vars;
  for (double x : rows_of_layer(d, "M_u")) in.u.push_back(static_cast<float>(x));
  for (double x : rows_of_layer(d, "M_s")) in.s.push_back(static_cast<float>(x));
  d.obsp.at("distances").local_csr(in.knn_indptr, in.knn_cols, in.knn_distances);
  return in;
}

}  // namespace

TEST(ModelsDeepvelo, GraphIsTheSymmetricallyNormalisedMultigraph) {
  // Five cells on a line at positions 0, 1, 3, 6, 10; each row lists its two nearest others.
  // top_g = 2: K(i) = {i, nearest}, A = K + Kᵀ (self-loops counted twice), Â = D^-½ A D^-½.
  const double pos[5] = {0, 1, 3, 6, 10};
  const int nearest[5][2] = {{1, 2}, {0, 2}, {1, 0}, {2, 1}, {3, 2}};
  const BlockPartition cells{5, test::ranks()};
  const int64_t b = cells.begin(test::rank()), e = cells.end(test::rank());
  std::vector<int64_t> ptr{0}, cols;
  std::vector<double> dist;
  for (int64_t i = b; i < e; ++i) {
    for (int k = 0; k < 2; ++k) {
      cols.push_back(nearest[i][k]);
      dist.push_back(std::abs(pos[i] - pos[nearest[i][k]]));
    }
    ptr.push_back(static_cast<int64_t>(cols.size()));
  }
  const DeepveloGraph g = build_deepvelo_graph(MPI_COMM_WORLD, cells, ptr, cols, dist, 2, 3);
  double a[5][5] = {};
  for (int i = 0; i < 5; ++i) {
    a[i][i] += 2;
    a[i][nearest[i][0]] += 1;
    a[nearest[i][0]][i] += 1;
  }
  double deg[5] = {};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) deg[i] += a[i][j];
  EXPECT_DOUBLE_EQ(deg[1], 5.0);   // A₁₁ = 2 (self twice), A₁₀ = 2 (0 and 1 point to each other), A₁₂ = 1
  const int64_t n = e - b;
  int64_t checked = 0;
  for (int64_t i = 0; i < n; ++i) {
    double row_total = 0, expected_total = 0;
    for (int64_t k = g.indptr[static_cast<size_t>(i)]; k < g.indptr[static_cast<size_t>(i + 1)]; ++k) {
      const int64_t c = g.cols[static_cast<size_t>(k)];
      const int64_t j = c < n ? b + c : g.halo[static_cast<size_t>(c - n)];
      EXPECT_NEAR(g.weights[static_cast<size_t>(k)], a[b + i][j] / std::sqrt(deg[b + i] * deg[j]), 1e-15) << b + i << "," << j;
      row_total += g.weights[static_cast<size_t>(k)];
      ++checked;
    }
    for (int j = 0; j < 5; ++j) expected_total += a[b + i][j] / std::sqrt(deg[b + i] * deg[j]);
    EXPECT_NEAR(row_total, expected_total, 1e-15);   // no edge missing
    // Loss neighbours: top_c − 1 = 2 nearest, as indices into [own | loss_halo].
    for (int k = 0; k < 2; ++k) {
      const int64_t c = g.neighbors[static_cast<size_t>(i * g.n_neighbors + k)];
      EXPECT_EQ(c < n ? b + c : g.loss_halo[static_cast<size_t>(c - n)], nearest[b + i][k]);
    }
  }
  int64_t nnz = 0;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) nnz += a[i][j] != 0;
  int64_t total = checked;
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, nnz);
}

TEST(ModelsDeepvelo, HaloExchangeSendsGradientsBackToTheOwners) {
  // Every rank reads every remote row; row c holds (c, 2c). The forward pass returns the owners'
  // values, and the backward pass of Σ (row index + 1) · value adds, on the owner of row c, one
  // (c + 1, c + 1) per other rank.
  const int64_t N = 7;
  const BlockPartition cells{N, test::ranks()};
  const int64_t b = cells.begin(test::rank()), e = cells.end(test::rank());
  std::vector<int64_t> halo;
  for (int64_t c = 0; c < N; ++c)
    if (c < b || c >= e) halo.push_back(c);
  const HaloExchange x(MPI_COMM_WORLD, cells, halo, 2);
  std::vector<double> mine;
  for (int64_t c = b; c < e; ++c) {
    mine.push_back(static_cast<double>(c));
    mine.push_back(2.0 * static_cast<double>(c));
  }
  const torch::Tensor local = torch::tensor(mine, torch::kDouble).view({e - b, 2}).set_requires_grad(true);
  const torch::Tensor got = x.gather(local);
  ASSERT_EQ(got.size(0), static_cast<int64_t>(halo.size()));
  for (size_t k = 0; k < halo.size(); ++k) {
    EXPECT_EQ(got[static_cast<int64_t>(k)][0].item<double>(), static_cast<double>(halo[k]));
    EXPECT_EQ(got[static_cast<int64_t>(k)][1].item<double>(), 2.0 * static_cast<double>(halo[k]));
  }
  std::vector<double> w;
  for (int64_t c : halo) w.push_back(static_cast<double>(c + 1));
  (got * torch::tensor(w, torch::kDouble).view({-1, 1})).sum().backward();
  for (int64_t c = b; c < e; ++c)
    for (int k = 0; k < 2; ++k)
      EXPECT_EQ(local.grad()[c - b][k].item<double>(), static_cast<double>((test::ranks() - 1) * (c + 1)));
}

TEST(ModelsDeepvelo, AdamAmsgradDividesByTheLargestSecondMoment) {
  // Gradients 1 then 0.01 (lr 1, torch's defaults otherwise): after the second step v = 0.0009991 has
  // fallen below its maximum 0.001, which AMSGrad keeps in the denominator; plain Adam does not.
  for (const bool ams : {true, false}) {
    const torch::Tensor p = torch::zeros({1}, torch::kDouble).set_requires_grad(true);
    AdamOptions ao;
    ao.lr = 1;
    ao.amsgrad = ams;
    Adam adam({p}, ao);
    for (const double g : {1.0, 0.01}) {
      p.mutable_grad() = torch::full({1}, g, torch::kDouble);
      adam.step();
    }
    const double step1 = 1 / (1 + 1e-8);
    const double v2 = ams ? 0.001 : 0.999 * 0.001 + 0.001 * 1e-4;
    const double step2 = (0.9 * 0.1 + 0.1 * 0.01) / (1 - 0.81) / (std::sqrt(v2) / std::sqrt(1 - 0.999 * 0.999) + 1e-8);
    EXPECT_NEAR(p.item<double>(), -(step1 + step2), 1e-12) << (ams ? "amsgrad" : "adam");
  }
}

TEST(ModelsDeepvelo, RanksAgreeWithOneProcess) {
  DeepveloOptions o;
  o.seed = 4;
  o.epochs = 12;
  o.lr = 0.01;   // larger steps than the default: the weights move well away from their start
  o.source = "sim.h5ad";
  const DeepveloFit world = fit_deepvelo(MPI_COMM_WORLD, input_of(simulated(MPI_COMM_WORLD, 150, 24)), o);
  // Each rank's velocity rows, in global order on rank 0.
  std::vector<double> v(world.velocity.begin(), world.velocity.end());
  int n = static_cast<int>(v.size());
  std::vector<int> counts(static_cast<size_t>(test::ranks())), disp(counts.size());
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  for (size_t r = 1; r < counts.size(); ++r) disp[r] = disp[r - 1] + counts[r - 1];
  std::vector<double> all(static_cast<size_t>(disp.back() + counts.back()));
  MPI_Gatherv(v.data(), n, MPI_DOUBLE, all.data(), counts.data(), disp.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (test::rank() != 0) return;
  const DeepveloFit single = fit_deepvelo(MPI_COMM_SELF, input_of(simulated(MPI_COMM_SELF, 150, 24)), o);
  DeepveloOptions o0 = o;
  o0.epochs = 0;
  const DeepveloFit init = fit_deepvelo(MPI_COMM_SELF, input_of(simulated(MPI_COMM_SELF, 150, 24)), o0);
  ASSERT_EQ(world.weights.size(), single.weights.size());
  double tensor = 0, moved = 0;
  for (size_t p = 0; p < single.weights.size(); ++p) {
    const std::vector<double>&a = world.weights[p].second, &r = single.weights[p].second, &i0 = init.weights[p].second;
    ASSERT_EQ(a.size(), r.size());
    double diff = 0, scale = 0;
    for (size_t k = 0; k < r.size(); ++k) {
      diff = std::max(diff, std::abs(a[k] - r[k]));
      scale = std::max(scale, std::abs(r[k]));
      moved = std::max(moved, std::abs(r[k] - i0[k]));
    }
    tensor = std::max(tensor, diff / scale);
  }
  double vdiff = 0, vscale = 0;
  for (size_t k = 0; k < all.size(); ++k) {
    vdiff = std::max(vdiff, std::abs(all[k] - static_cast<double>(single.velocity[k])));
    vscale = std::max(vscale, std::abs(static_cast<double>(single.velocity[k])));
  }
  double ldiff = 0;
  for (size_t t = 0; t < single.loss.size(); ++t) ldiff = std::max(ldiff, std::abs(world.loss[t] / single.loss[t] - 1));
  std::printf("[ deepvelo ] %d ranks vs 1 after %lld steps: max relative weight difference %.3g per tensor, velocity %.3g, "
              "loss %.3g; max change from the initial weights %.3g\n",
              test::ranks(), static_cast<long long>(o.epochs), tensor, vdiff / vscale, ldiff, moved);
  EXPECT_GT(moved, 1e-2);   // the weights did move: not a comparison of two initialisations
  EXPECT_LT(tensor, 1e-5);
  EXPECT_LT(vdiff / vscale, 1e-5);
  EXPECT_LT(ldiff, 1e-5);
}

TEST(ModelsDeepvelo, SimulatedVelocityPointsAlongTheTruth) {
  Dataset d = simulated(MPI_COMM_WORLD, 400, 80);
  run_deepvelo(d, {});
  for (const char* k : {"velocity_S", "cell_specific_beta", "cell_specific_gamma"})
    ASSERT_TRUE(std::holds_alternative<DenseArray>(d.layers.at(k))) << k;
  EXPECT_TRUE(d.uns.contains("dynamics"));
  EXPECT_TRUE(d.var.has("use_for_dynamics"));
  EXPECT_TRUE(d.var.has("use_for_transition"));
  // velocity_S = β ⊙ M_u + γ ⊙ M_s, cell by cell.
  {
    const std::vector<double> u = rows_of_layer(d, "M_u"), s = rows_of_layer(d, "M_s"), v = rows_of_layer(d, "velocity_S"),
                              beta = rows_of_layer(d, "cell_specific_beta"), gamma = rows_of_layer(d, "cell_specific_gamma");
    double worst = 0;
    for (size_t k = 0; k < v.size(); ++k)
      worst = std::max(worst, std::abs(v[k] - (beta[k] * u[k] + gamma[k] * s[k])) / (1e-3 + std::abs(v[k])));
    EXPECT_LT(worst, 1e-4);
  }
  EvaluateOptions eo;
  eo.truth_required = true;
  const EvaluationReport rep = evaluate_velocity(d, eo);
  // Per-gene sign agreement with the truth over all cells and genes.
  const std::vector<double> v = rows_of_layer(d, "velocity_S"), truth = rows_of_layer(d, "true_velocity_S");
  double agree_sign[2] = {0, 0};
  for (size_t k = 0; k < v.size(); ++k)
    if (truth[k] != 0 && v[k] != 0) {
      agree_sign[0] += (truth[k] > 0) == (v[k] > 0);
      agree_sign[1] += 1;
    }
  MPI_Allreduce(MPI_IN_PLACE, agree_sign, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  // Baseline: the same values with gene identities rotated within every cell.
  {
    const DenseArray& vel = std::get<DenseArray>(d.layers.at("velocity_S"));
    DenseArray a = DenseArray::zeros({d.n_obs_local, d.n_vars}, DType::f32);
    const int64_t shift = d.n_vars / 3;
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      for (int64_t g = 0; g < d.n_vars; ++g)
        a.values.data<float>()[i * d.n_vars + g] = vel.values.data<float>()[i * d.n_vars + (g + shift) % d.n_vars];
    d.layers["velocity_S"] = std::move(a);
  }
  const EvaluationReport base = evaluate_velocity(d, eo);
  const double med = rep.gene_cosine->summary.median, base_med = base.gene_cosine->summary.median;
  const double sign = agree_sign[0] / agree_sign[1];
  if (test::rank() == 0)
    std::printf("[ deepvelo ] simulated 400 x 80: median cosine %.3f (gene-shuffled %.3f), sign agreement %.3f\n", med, base_med,
                sign);
  EXPECT_GT(med, base_med + 0.2);
  EXPECT_GT(sign, 0.6);
}

TEST(ModelsDeepvelo, LossDecreases) {
  DeepveloOptions o;
  o.epochs = 30;
  o.source = "sim.h5ad";
  const DeepveloFit fit = fit_deepvelo(MPI_COMM_WORLD, input_of(simulated(MPI_COMM_WORLD, 200, 40)), o);
  int64_t down = 0;
  for (size_t t = 1; t < fit.loss.size(); ++t) down += fit.loss[t] < fit.loss[t - 1];
  if (test::rank() == 0)
    std::printf("[ deepvelo ] loss %.4g -> %.4g, direction %.3f -> %.3f, %lld of %zu steps down\n", fit.loss.front(),
                fit.loss.back(), fit.direction.front(), fit.direction.back(), static_cast<long long>(down), fit.loss.size() - 1);
  EXPECT_LT(fit.loss.back(), 0.9 * fit.loss.front());
  EXPECT_LT(fit.direction.back(), fit.direction.front());
  EXPECT_GE(down, static_cast<int64_t>(fit.loss.size() - 1) * 2 / 3);
}

TEST(ModelsDeepvelo, BadInputIsAClearError) {
  Dataset d = simulated(MPI_COMM_WORLD, 60, 12);
  d.obsp.erase("distances");
  EXPECT_EQ(test::error_of([&] { run_deepvelo(d, {}); }),
            "sim.h5ad: obsp/distances: deepvelo needs the cell kNN distance graph (deepvelo_graph): not present (run the "
            "moments stage first)");
  Dataset m = simulated(MPI_COMM_WORLD, 60, 12);
  m.layers.erase("M_u");
  EXPECT_EQ(test::error_of([&] { run_deepvelo(m, {}); }),
            "sim.h5ad: layers/M_u: deepvelo needs the spliced and unspliced moments (Ms_key, Mu_key): layer not present (run "
            "the moments stage first)");
  Dataset k = simulated(MPI_COMM_WORLD, 60, 12);
  EXPECT_NE(test::error_of([&] { run_deepvelo(k, {{"deepvelo_layers", "64,x"}}); }).find("deepvelo_layers"), std::string::npos);
  EXPECT_NE(test::error_of([&] { run_deepvelo(k, {{"deepvelo_dropout", "1"}}); }).find("deepvelo_dropout"), std::string::npos);
}
