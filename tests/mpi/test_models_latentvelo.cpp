// LatentVelo: the per-gene preprocessing against closed forms; the weights after N steps at 2 and 3
// ranks equal a one-process run's on the same chunks; training on a simulation recovers the velocity
// direction (above a gene-shuffled baseline) and the time order without touching the raw layers; bad
// input is a clear error naming the key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/config.hpp"
#include "core/gather.hpp"
#include "core/partition.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "simulate/simulator.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/models/data_parallel.hpp"
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
  o.density = 0.3;
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

// A small input, each rank holding its block of the cells: per gene a phase-shifted loop, a ring
// graph (edges across the rank blocks), a count mask that is not the moments' nonzeros.
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
  for (int64_t c = in.begin; c < in.end; ++c) {
    KeyedStream r(key_hash(17, 0, static_cast<uint64_t>(c)));
    const double t = static_cast<double>(c) / static_cast<double>(cells);
    for (int64_t g = 0; g < genes; ++g) {
      const double phase = t + 0.1 * static_cast<double>(g);
      in.s.push_back(static_cast<float>(std::max(0.0, 0.2 + 0.2 * std::sin(6.283185307179586 * phase) + 0.01 * r.normal())));
      in.u.push_back(static_cast<float>(std::max(0.0, 0.2 + 0.2 * std::cos(6.283185307179586 * phase) + 0.01 * r.normal())));
      in.mask.push_back((c + g) % 5 != 0);   // counts are sparser than their moments
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
  for (const bool dp : {true, false}) {
    LatentveloOptions o;
    o.seed = 3;
    o.latent_dim = 6;
    o.encoder_hidden = 10;
    o.batch_size = 24;        // 120 cells: 5 chunks
    o.chunks_per_step = 3;    // steps of 3 and 2 chunks: at 2 ranks one rank sums two chunks, the other one
    o.epochs = 3;
    o.max_steps = 5;          // crosses two epoch boundaries (2 steps per epoch) and two validations
    o.posterior = false;
    o.double_precision = dp;
    o.source = "synthetic";
    const LatentveloFit world = fit_latentvelo(MPI_COMM_WORLD, synthetic(MPI_COMM_WORLD, 120, 8), o);
    if (test::rank() != 0) continue;
    const LatentveloFit single = fit_latentvelo(MPI_COMM_SELF, synthetic(MPI_COMM_SELF, 120, 8), o);
    o.max_steps = 0;
    const LatentveloFit init = fit_latentvelo(MPI_COMM_SELF, synthetic(MPI_COMM_SELF, 120, 8), o);
    const std::vector<double> a = flat(world), b = flat(single), c = flat(init);
    ASSERT_EQ(a.size(), b.size());
    double diff = 0, norm = 0, moved = 0, sq_diff = 0, sq_norm = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(a[i] - b[i]));
      norm = std::max(norm, std::abs(b[i]));
      moved = std::max(moved, std::abs(b[i] - c[i]));
      sq_diff += (a[i] - b[i]) * (a[i] - b[i]);
      sq_norm += b[i] * b[i];
    }
    const double relative_norm = std::sqrt(sq_diff / sq_norm);
    std::printf("[ latentvelo ] %s, %d ranks vs 1 after 5 steps: max weight difference %.3g (%.3g of the largest "
                "weight), ||difference|| / ||weights|| %.3g; max change from the initial weights %.3g\n",
                dp ? "float64" : "float32", test::ranks(), diff, diff / norm, relative_norm, moved);
    EXPECT_EQ(world.steps, 5);
    EXPECT_GT(moved, 1e-3);   // the weights did move
    // The chunk gradients are summed in chunk order whatever rank computed them: the same bits, in
    // float32 too (the acceptance threshold is 1e-5 relative).
    EXPECT_LE(diff / norm, 1e-12);
    EXPECT_LE(relative_norm, 1e-12);
    ASSERT_EQ(world.val_ae.size(), single.val_ae.size());
    for (size_t e = 0; e < single.val_ae.size(); ++e) {
      EXPECT_NEAR(world.val_ae[e], single.val_ae[e], 1e-5 * std::abs(single.val_ae[e]));
      EXPECT_NEAR(world.val_traj[e], single.val_traj[e], 1e-5 * std::abs(single.val_traj[e]));
    }
  }
}

TEST(ModelsLatentvelo, LossWeightsFollowTheCountMask) {
  // The data terms are weighted by mean(normed over the mask)·mask with the mask of the normalised
  // counts (input.mask), not the nonzeros of the moments: a zero count mask zeroes val_ae and
  // val_traj although every moment here is positive; the count mask leaves them positive.
  LatentveloOptions o;
  o.seed = 3;
  o.latent_dim = 6;
  o.encoder_hidden = 10;
  o.batch_size = 24;
  o.epochs = 1;
  o.max_steps = 1;
  o.posterior = false;
  o.source = "synthetic";
  LatentveloInput in = synthetic(MPI_COMM_WORLD, 120, 8);
  int64_t positive = 0;
  for (size_t k = 0; k < in.s.size(); ++k) positive += in.s[k] > 0 || in.u[k] > 0;
  const int64_t all_positive = static_cast<int64_t>(global_sum(static_cast<double>(positive), MPI_COMM_WORLD));
  const int64_t entries = static_cast<int64_t>(global_sum(static_cast<double>(in.s.size()), MPI_COMM_WORLD));
  EXPECT_EQ(all_positive, entries);   // the moments' own nonzero mask would be all ones
  const LatentveloFit counted = fit_latentvelo(MPI_COMM_WORLD, in, o);
  std::fill(in.mask.begin(), in.mask.end(), uint8_t{0});
  const LatentveloFit none = fit_latentvelo(MPI_COMM_WORLD, in, o);
  ASSERT_EQ(counted.val_ae.size(), 1u);
  ASSERT_EQ(none.val_ae.size(), 1u);
  if (test::rank() == 0)
    std::printf("[ latentvelo ] val_ae / val_traj after one step: count mask %.4g / %.4g, zero mask %.4g / %.4g\n",
                counted.val_ae[0], counted.val_traj[0], none.val_ae[0], none.val_traj[0]);
  EXPECT_GT(counted.val_ae[0], 1e-4);
  EXPECT_GT(counted.val_traj[0], 1e-4);
  EXPECT_EQ(none.val_ae[0], 0.0);
  EXPECT_EQ(none.val_traj[0], 0.0);
}

TEST(ModelsLatentvelo, SimulatedVelocityDirection) {
  Dataset d = simulated(MPI_COMM_WORLD, 400, 300);
  const CsrMatrix raw_s = d.layer_csr("spliced");
  run_latentvelo(d, {{"epochs", "60"}, {"latentvelo_batch_size", "50"}, {"latent_dim", "10"}, {"inference_samples", "4"}});
  // The caller's raw counts are untouched (LatentVelo itself overwrites them).
  EXPECT_TRUE(d.layer_csr("spliced") == raw_s);
  ASSERT_TRUE(std::holds_alternative<CsrMatrix>(d.layers.at("velocity_S")));
  EXPECT_TRUE(d.layers.count("velocity_U"));
  for (const char* k : {"X_latentvelo", "X_latentvelo_velo_s", "X_latentvelo_velo_u"}) EXPECT_TRUE(d.obsm.count(k)) << k;
  EXPECT_TRUE(d.obs.has("latent_time"));
  EXPECT_TRUE(d.uns.contains("dynamics"));
  EXPECT_TRUE(d.uns.contains("latentvelo_train_params"));
  const std::vector<uint8_t> used = gene_flags(d, "use_for_transition");
  const int64_t n_used = std::accumulate(used.begin(), used.end(), int64_t{0});
  EXPECT_GT(n_used, 0);

  EvaluateOptions eo;
  eo.truth_required = true;
  const EvaluationReport rep = evaluate_velocity(d, eo);
  {   // baseline: the same values with gene identities rotated within every cell
    const CsrMatrix& v = std::get<CsrMatrix>(d.layers.at("velocity_S"));
    DenseArray a = DenseArray::zeros({d.n_obs_local, d.n_vars}, DType::f32);
    const int64_t shift = d.n_vars / 3;
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      for (int64_t k = v.indptr[static_cast<size_t>(i)]; k < v.indptr[static_cast<size_t>(i) + 1]; ++k)
        a.values.data<float>()[i * d.n_vars + (v.index(k) + d.n_vars - shift) % d.n_vars] = v.data.data<float>()[k];
    d.layers["velocity_S"] = std::move(a);
  }
  const EvaluationReport base = evaluate_velocity(d, eo);
  const double med = rep.gene_cosine->summary.median, base_med = base.gene_cosine->summary.median;
  auto obs_values = [&](const std::string& name) {
    const Array& a = d.obs.columns.at(name).values;
    return gather_concat(MPI_COMM_WORLD, std::vector<double>(a.data<double>(), a.data<double>() + d.n_obs_local));
  };
  const std::vector<double> lt = obs_values("latent_time"), tt = obs_values("true_time");
  double mt = 0, ml = 0;
  for (size_t i = 0; i < lt.size(); ++i) {
    mt += tt[i] / static_cast<double>(lt.size());
    ml += lt[i] / static_cast<double>(lt.size());
  }
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < lt.size(); ++i) {
    ab += (lt[i] - ml) * (tt[i] - mt);
    aa += (lt[i] - ml) * (lt[i] - ml);
    bb += (tt[i] - mt) * (tt[i] - mt);
  }
  const double time_corr = ab / std::sqrt(aa * bb);
  if (test::rank() == 0)
    std::printf("[ latentvelo ] simulated 400 x 300 (%lld velocity genes): median cosine %.3f (gene-shuffled %.3f), "
                "Pearson(latent time, true time) %.3f\n",
                static_cast<long long>(n_used), med, base_med, time_corr);
  EXPECT_GT(med, base_med + 0.2);
  EXPECT_GT(time_corr, 0.5);   // the latent time runs with the true time (root at the start)
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
