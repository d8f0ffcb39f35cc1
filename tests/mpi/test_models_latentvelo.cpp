// LatentVelo: the per-gene preprocessing against closed forms; the weights after N steps at 2 and 3
// ranks equal a one-process run's on the same chunks; bad input is a clear error naming the key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/config.hpp"
#include "core/gather.hpp"
#include "core/log.hpp"
#include "core/partition.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "simulate/simulator.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/models/keyed_random.hpp"
#include "velocity/models/latentvelo_genes.hpp"
#include "velocity/models/latentvelo_model.hpp"

using namespace velofield;
using namespace velofield::models;

namespace {

void run_latentvelo(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = dynamics_stage();
  Config config;
  config.set("dynamics", "method", "latentvelo");
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  stage.run(d, StageConfig(config, "dynamics", stage.keys));
}

// The simulation with a 15-nearest-neighbour graph in its 2-D layout (X_true_2d) as obsp
// connectivities: the graph LatentVelo takes from dynamo, built here without the pipeline.
Dataset simulated(MPI_Comm comm, int64_t cells, int64_t genes) {
  SimulationOptions o;
  o.n_cells = cells;
  o.n_genes = genes;
  o.n_lineages = 1;
  o.seed = 5;
  o.density = 0.5;
  o.noise_free = true;   // expected abundances: a clean signal for a small, short training
  Dataset d = simulate(comm, o);
  d.source = "sim.h5ad";
  const DenseArray& xy = d.obsm_dense("X_true_2d");
  std::vector<double> mine;
  for (int64_t i = 0; i < d.n_obs_local * 2; ++i) mine.push_back(xy.values.dtype() == DType::f32 ? xy.values.data<float>()[i] : xy.values.data<double>()[i]);
  const std::vector<double> all = gather_concat(comm, mine);
  constexpr int64_t k = 15;
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> vals;
  for (int64_t i = d.obs_begin; i < d.obs_begin + d.n_obs_local; ++i) {
    std::vector<std::pair<double, int64_t>> dist;
    for (int64_t j = 0; j < d.n_obs; ++j)
      if (j != i) dist.emplace_back(std::hypot(all[2 * i] - all[2 * j], all[2 * i + 1] - all[2 * j + 1]), j);
    std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
    std::vector<int64_t> nn;
    for (int64_t q = 0; q < k; ++q) nn.push_back(dist[static_cast<size_t>(q)].second);
    std::sort(nn.begin(), nn.end());
    for (int64_t j : nn) {
      cols.push_back(j);
      vals.push_back(1.0);
    }
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  d.obsp.emplace("connectivities", DistMatrix::from_local_csr(comm, d.n_obs_local, d.n_obs, indptr, cols, vals, DType::f32));
  return d;
}

// A small replicated input (the same on every rank): per gene a phase-shifted loop, a ring graph.
LatentveloInput synthetic(MPI_Comm comm, int64_t cells, int64_t genes) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const BlockPartition part{cells, ranks};
  LatentveloInput in;
  in.n_cells = cells;
  in.n_genes = genes;
  in.n_types = 3;
  in.begin = part.begin(rank);
  in.end = part.end(rank);
  for (int64_t c = 0; c < cells; ++c) {
    KeyedStream r(key_hash(17, 0, static_cast<uint64_t>(c)));
    const double t = static_cast<double>(c) / static_cast<double>(cells);
    for (int64_t g = 0; g < genes; ++g) {
      const double phase = t + 0.1 * static_cast<double>(g);
      in.s.push_back(static_cast<float>(std::max(0.0, 0.2 + 0.2 * std::sin(6.283185307179586 * phase) + 0.01 * r.normal())));
      in.u.push_back(static_cast<float>(std::max(0.0, 0.2 + 0.2 * std::cos(6.283185307179586 * phase) + 0.01 * r.normal())));
    }
    in.celltype.push_back(static_cast<int32_t>(3 * c / cells));
    in.adj_indptr.push_back(static_cast<int64_t>(in.adj_indices.size()));
    for (int64_t dlt : {-2, -1, 1, 2}) {
      in.adj_indices.push_back((c + dlt + cells) % cells);
      in.adj_weights.push_back(1.0 / static_cast<double>(std::abs(dlt)));
    }
  }
  in.adj_indptr.push_back(static_cast<int64_t>(in.adj_indices.size()));
  in.velocity_genes.assign(static_cast<size_t>(genes), 1);
  in.velocity_genes[0] = 0;
  return in;
}

std::vector<double> flat(const LatentveloFit& f) {
  std::vector<double> out;
  for (const auto& [name, v] : f.weights) out.insert(out.end(), v.begin(), v.end());
  return out;
}

}  // namespace

TEST(ModelsLatentvelo, GenePreprocessingHasItsClosedForms) {
  // u = 0.5·s + a bump: γ_ref is Σus/Σs², r² from its residuals, sd the population sd.
  std::vector<float> s, u;
  for (int i = 0; i < 100; ++i) {
    s.push_back(static_cast<float>(i % 10));
    u.push_back(static_cast<float>(0.5 * (i % 10) + (i % 7 == 0 ? 1.0 : 0.0)));
  }
  double us = 0, ss = 0, ubar = 0, sbar = 0;
  for (int i = 0; i < 100; ++i) {
    us += double(u[i]) * s[i];
    ss += double(s[i]) * s[i];
    ubar += u[i] / 100.0;
    sbar += s[i] / 100.0;
  }
  double res = 0, tot = 0, vs = 0;
  for (int i = 0; i < 100; ++i) {
    res += std::pow(u[i] - us / ss * s[i], 2);
    tot += std::pow(u[i] - ubar, 2);
    vs += std::pow(s[i] - sbar, 2);
  }
  const LatentveloGene g = latentvelo_gene(s.data(), u.data(), 100);
  EXPECT_NEAR(g.gamma_ref, us / ss, 1e-12);
  EXPECT_NEAR(g.r2, 1 - res / tot, 1e-12);
  EXPECT_NEAR(g.sd_s, std::sqrt(vs / 100), 1e-12);
  EXPECT_EQ(g.both_positive, 90);
  EXPECT_TRUE(g.expressed);
  // u exactly proportional to s: r² = 1 is outside (0.01, 0.95) and the gene is not a velocity gene.
  std::vector<float> u2(s.size());
  for (size_t i = 0; i < s.size(); ++i) u2[i] = 0.5f * s[i];
  const LatentveloGene exact = latentvelo_gene(s.data(), u2.data(), 100);
  EXPECT_NEAR(exact.r2, 1.0, 1e-12);
  EXPECT_EQ(latentvelo_velocity_genes({g, exact}), (std::vector<uint8_t>{1, 0}));
  // Dispersion: with no more genes than n_top all are kept; otherwise the most over-dispersed.
  const std::vector<double> mean{1, 1, 1, 1}, mean_sq{1.5, 1.1, 5, 2};
  EXPECT_EQ(dispersion_top_genes(mean, mean_sq, 50, 4), (std::vector<uint8_t>{1, 1, 1, 1}));
  EXPECT_EQ(dispersion_top_genes(mean, mean_sq, 50, 2), (std::vector<uint8_t>{0, 0, 1, 1}));
}

TEST(ModelsLatentvelo, RanksAgreeWithOneProcessOnTheSameChunks) {
  LatentveloOptions o;
  o.seed = 3;
  o.latent_dim = 6;
  o.encoder_hidden = 10;
  o.batch_size = 30;   // 120 cells: 4 chunks, 2 per step
  o.epochs = 3;
  o.max_steps = 5;     // crosses an epoch boundary (2 steps per epoch) and two validations
  o.posterior = false;
  o.double_precision = true;
  o.source = "synthetic";
  const LatentveloFit world = fit_latentvelo(MPI_COMM_WORLD, synthetic(MPI_COMM_WORLD, 120, 8), o);
  if (test::rank() != 0) return;
  const LatentveloFit single = fit_latentvelo(MPI_COMM_SELF, synthetic(MPI_COMM_SELF, 120, 8), o);
  o.max_steps = 0;
  const LatentveloFit init = fit_latentvelo(MPI_COMM_SELF, synthetic(MPI_COMM_SELF, 120, 8), o);
  const std::vector<double> a = flat(world), b = flat(single), c = flat(init);
  ASSERT_EQ(a.size(), b.size());
  double diff = 0, norm = 0, moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    norm = std::max(norm, std::abs(b[i]));
    moved = std::max(moved, std::abs(b[i] - c[i]));
  }
  std::printf("[ latentvelo ] %d ranks vs 1 after 5 steps: max weight difference %.3g (relative %.3g); max change from "
              "the initial weights %.3g\n",
              test::ranks(), diff, diff / norm, moved);
  EXPECT_EQ(world.steps, 5);
  EXPECT_GT(moved, 1e-3);            // the weights did move
  EXPECT_LT(diff / norm, 1e-5);      // the acceptance threshold
  ASSERT_EQ(world.val_ae.size(), single.val_ae.size());
  for (size_t e = 0; e < single.val_ae.size(); ++e) {
    EXPECT_NEAR(world.val_ae[e], single.val_ae[e], 1e-9 * std::abs(single.val_ae[e]));
    EXPECT_NEAR(world.val_traj[e], single.val_traj[e], 1e-9 * std::abs(single.val_traj[e]));
  }
}

TEST(ModelsLatentvelo, BadInputIsAClearError) {
  Dataset d = simulated(MPI_COMM_WORLD, 60, 20);
  d.layers.erase("unspliced");
  EXPECT_EQ(test::error_of([&] { run_latentvelo(d, {}); }),
            "sim.h5ad: layers/unspliced: latentvelo needs the raw spliced and unspliced counts: layer not present");
  Dataset g = simulated(MPI_COMM_WORLD, 60, 20);
  g.obsp.erase("connectivities");
  EXPECT_EQ(test::error_of([&] { run_latentvelo(g, {}); }),
            "sim.h5ad: obsp/connectivities: latentvelo needs the kNN graph: not present (run the neighbors stage first)");
  Dataset c = simulated(MPI_COMM_WORLD, 60, 20);
  EXPECT_EQ(test::error_of([&] { run_latentvelo(c, {{"celltype_key", "stage"}}); }),
            "sim.h5ad: obs/stage: latentvelo: cell-type column not present (set celltype_key \"\" for none)");
  Dataset b = simulated(MPI_COMM_WORLD, 60, 20);
  EXPECT_NE(test::error_of([&] { run_latentvelo(b, {{"latentvelo_batch_size", "1"}}); }).find("latentvelo_batch_size"), std::string::npos);
}
