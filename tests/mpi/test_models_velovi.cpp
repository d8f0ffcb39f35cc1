// VeloVI: the gene preprocessing against closed forms; training on a clean simulation recovers the
// velocity (above a gene-shuffled baseline) and the cells' time order; the weights after N steps at
// 2 and 3 ranks equal a one-process run's on the same global batches; a run resumed from its
// checkpoint ends with the uninterrupted weights; bad input is a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/config.hpp"
#include "core/partition.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "simulate/simulator.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/models/keyed_random.hpp"
#include "velocity/models/velovi_genes.hpp"
#include "velocity/models/velovi_kinetics.hpp"
#include "velocity/models/velovi_model.hpp"

using namespace velofield;
using namespace velofield::models;

namespace {

void run_velovi(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = dynamics_stage();
  Config config;
  config.set("dynamics", "method", "velovi");
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  stage.run(d, StageConfig(config, "dynamics", stage.keys));
}

Dataset simulated(MPI_Comm comm, int64_t cells, int64_t genes) {
  SimulationOptions o;
  o.n_cells = cells;
  o.n_genes = genes;
  o.n_lineages = 1;   // one path: a single time order for the latent time to recover
  o.seed = 5;
  o.noise_free = true;   // expected abundances: the moments a perfect smoother would give
  Dataset d = simulate(comm, o);
  d.source = "sim.h5ad";
  d.layers["M_s"] = d.layers.at("spliced");
  d.layers["M_u"] = d.layers.at("unspliced");
  return d;
}

std::vector<double> gather_doubles(const std::vector<double>& mine, MPI_Comm comm = MPI_COMM_WORLD) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  std::vector<int> counts(static_cast<size_t>(ranks)), disp(static_cast<size_t>(ranks));
  const int n = static_cast<int>(mine.size());
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  for (int r = 1; r < ranks; ++r) disp[static_cast<size_t>(r)] = disp[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
  std::vector<double> all(static_cast<size_t>(disp.back() + counts.back()));
  MPI_Allgatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), disp.data(), MPI_DOUBLE, comm);
  return all;
}

std::vector<double> obs_values(const Dataset& d, const std::string& name) {
  const Array& a = d.obs.columns.at(name).values;
  return {a.data<double>(), a.data<double>() + d.n_obs_local};
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / static_cast<double>(ra.size());
  const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / static_cast<double>(rb.size());
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    ab += (ra[i] - ma) * (rb[i] - mb);
    aa += (ra[i] - ma) * (ra[i] - ma);
    bb += (rb[i] - mb) * (rb[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

// A small synthetic input keyed by the global cell index (the same rows at any rank count):
// per gene, cells on an induction/repression loop with a little noise, already in [0, 1].
VeloviInput synthetic(MPI_Comm comm, int64_t cells, int64_t genes) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const BlockPartition part{cells, ranks};
  VeloviInput in;
  in.n_cells = cells;
  in.begin = part.begin(rank);
  in.end = part.end(rank);
  in.n_genes = genes;
  for (int64_t c = in.begin; c < in.end; ++c) {
    KeyedStream r(key_hash(17, 0, static_cast<uint64_t>(c)));
    const double t = r.uniform();
    for (int64_t g = 0; g < genes; ++g) {
      const double phase = t + 0.1 * static_cast<double>(g);
      in.s.push_back(static_cast<float>(0.5 + 0.45 * std::sin(6.283185307179586 * phase) + 0.02 * r.normal()));
      in.u.push_back(static_cast<float>(0.5 + 0.45 * std::cos(6.283185307179586 * phase) + 0.02 * r.normal()));
    }
  }
  in.u_up.assign(static_cast<size_t>(genes), 0.9);
  in.s_up.assign(static_cast<size_t>(genes), 0.7);
  return in;
}

VeloviOptions small_options() {
  VeloviOptions o;
  o.seed = 3;
  o.n_hidden = 32;
  o.batch_size = 64;
  o.posterior = false;
  o.source = "synthetic";
  return o;
}

std::vector<double> flat(const VeloviFit& f) {
  std::vector<double> out;
  for (const auto& [name, v] : f.weights) out.insert(out.end(), v.begin(), v.end());
  return out;
}

}  // namespace

TEST(ModelsVelovi, KineticsMixtureAndDirichletHaveTheirClosedForms) {
  torch::NoGradGuard no_grad;
  const torch::TensorOptions f64 = torch::dtype(torch::kDouble);
  const velovi::Rates r{torch::tensor({2.0, 1.5}, f64), torch::tensor({1.0, 0.4}, f64), torch::tensor({0.5, 1.1}, f64)};
  // The induction solution satisfies du/dt = α − βu, ds/dt = βu − γs; repression the same with α = 0.
  const torch::Tensor t = torch::tensor({1.3, 2.7}, f64), h = torch::full({2}, 1e-6, f64);
  const auto [u, s] = velovi::induction(r, t);
  const auto [up, sp] = velovi::induction(r, t + h);
  const auto [um, sm] = velovi::induction(r, t - h);
  EXPECT_LT(((up - um) / (2 * h) - (r.alpha - r.beta * u)).abs().max().item<double>(), 1e-4);
  EXPECT_LT(((sp - sm) / (2 * h) - (r.beta * u - r.gamma * s)).abs().max().item<double>(), 1e-4);
  const auto [u0, s0] = velovi::induction(r, torch::full({2}, 4.0, f64));
  const auto [ur, sr] = velovi::repression(u0, s0, r, t);
  const auto [urp, srp] = velovi::repression(u0, s0, r, t + h);
  const auto [urm, srm] = velovi::repression(u0, s0, r, t - h);
  EXPECT_LT(((urp - urm) / (2 * h) + r.beta * ur).abs().max().item<double>(), 1e-4);
  EXPECT_LT(((srp - srm) / (2 * h) - (r.beta * ur - r.gamma * sr)).abs().max().item<double>(), 1e-4);
  const auto [uc, sc] = velovi::repression(u0, s0, r, torch::zeros({2}, f64));   // continuity at the switch
  EXPECT_LT((uc - u0).abs().max().item<double>() + (sc - s0).abs().max().item<double>(), 1e-12);

  // Mixture log-density against the brute-force sum (π well inside the clamp).
  const torch::Tensor x = torch::tensor({{0.3, 0.8}}, f64);
  const torch::Tensor mean = torch::tensor({{{0.2, 0.5, 0.4, 0.0}, {0.9, 0.7, 0.1, 0.0}}}, f64);
  const torch::Tensor sd = torch::tensor({0.2, 0.1}, f64);
  const torch::Tensor pi = torch::tensor({{{0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.4, 0.1}}}, f64);
  const torch::Tensor lp = velovi::mixture_log_prob(x, mean, sd, pi);
  for (int g = 0; g < 2; ++g) {
    double p = 0;
    for (int k = 0; k < 4; ++k) {
      const double sk = (k == 3 ? 0.1 : 1.0) * sd[g].item<double>(), d = x[0][g].item<double>() - mean[0][g][k].item<double>();
      p += pi[0][g][k].item<double>() * std::exp(-d * d / (2 * sk * sk)) / (sk * std::sqrt(2 * M_PI));
    }
    EXPECT_NEAR(lp[0][g].item<double>(), std::log(p), 1e-12) << "gene " << g;
  }

  // KL(Dir(1,1,1,1) ‖ Dir(¼·1)) = ln Γ(4) + 4 ln Γ(¼) + ¾ Σ (ψ(1) − ψ(4)) = ln 6 + 4 ln Γ(¼) − 5.5.
  EXPECT_NEAR(velovi::dirichlet_kl(torch::ones({1, 4}, f64), 0.25).item<double>(), std::log(6.0) + 4 * std::lgamma(0.25) - 5.5, 1e-10);
  EXPECT_NEAR(velovi::dirichlet_kl(torch::full({1, 4}, 0.25, f64), 0.25).item<double>(), 0.0, 1e-12);

  // Normalised gamma variates have the Dirichlet's mean a_k / a₀ and variance a_k (a₀ − a_k) / (a₀² (a₀ + 1)).
  const int n = 20000;
  const torch::Tensor a = torch::tensor({2.0, 1.0, 0.5, 0.5}, f64).reshape({1, 1, 4}).expand({n, 1, 4}).contiguous();
  std::vector<at::Generator> gens;
  for (int i = 0; i < n; ++i) gens.push_back(at::detail::createCPUGenerator(key_hash(1, 2, 3, static_cast<uint64_t>(i))));
  const torch::Tensor draws = velovi::dirichlet_sample(a, gens).reshape({n, 4});
  const double a0 = 4, ak[4] = {2, 1, 0.5, 0.5};
  for (int k = 0; k < 4; ++k) {
    const double m = ak[k] / a0, v = ak[k] * (a0 - ak[k]) / (a0 * a0 * (a0 + 1));
    EXPECT_NEAR(draws.select(1, k).mean().item<double>(), m, 4 * std::sqrt(v / n)) << "component " << k;
    EXPECT_NEAR(draws.select(1, k).var().item<double>(), v, 0.05 * v) << "component " << k;
  }
}

// The fused mixture log-density (one pass, hand-written backward) against the torch composition it
// replaced, values and all four gradients, in float64 on random inputs including an empty batch.
TEST(ModelsVelovi, FusedMixtureMatchesTorchCompositionAndItsGradients) {
  const torch::TensorOptions f64 = torch::dtype(torch::kDouble);
  for (const int64_t B : {int64_t{5}, int64_t{0}}) {
    torch::manual_seed(3);
    const int64_t G = 7;
    const torch::Tensor x = torch::rand({B, G}, f64).requires_grad_(true);
    const torch::Tensor mean = torch::rand({B, G, 4}, f64).requires_grad_(true);
    const torch::Tensor sd = (0.05 + torch::rand({G}, f64)).requires_grad_(true);
    const torch::Tensor pi = torch::softmax(torch::randn({B, G, 4}, f64), -1).requires_grad_(true);
    const torch::Tensor w = torch::randn({B, G}, f64);   // a weighting, so every output's gradient differs
    auto grads = [&](const torch::Tensor& y) {
      return torch::autograd::grad({(y * w).sum()}, {x, mean, sd, pi}, {}, false, false, true);
    };
    const torch::Tensor fused = velovi::mixture_log_prob(x, mean, sd, pi);
    const double feps = std::numeric_limits<float>::epsilon();
    const torch::Tensor log_pi = torch::log_softmax(torch::log(pi.clamp(feps, 1 - feps)), -1);
    const torch::Tensor sd4 = torch::stack({sd, sd, sd, 0.1 * sd}, -1);
    const torch::Tensor reference =
        torch::logsumexp(-(x.unsqueeze(2) - mean).pow(2) / (2 * sd4.pow(2)) - torch::log(sd4) - 0.5 * std::log(2 * M_PI) + log_pi, -1);
    ASSERT_EQ(fused.sizes(), reference.sizes());
    if (B > 0) {
      EXPECT_LT((fused - reference).abs().max().item<double>(), 1e-12);
    }
    const auto gf = grads(fused), gr = grads(reference);
    for (size_t i = 0; i < gf.size(); ++i) {
      ASSERT_TRUE(gf[i].defined()) << "input " << i;
      ASSERT_EQ(gf[i].sizes(), gr[i].sizes()) << "input " << i;
      if (B > 0) {
        EXPECT_LT((gf[i] - gr[i]).abs().max().item<double>(), 1e-10 * (1 + gr[i].abs().max().item<double>())) << "input " << i;
        EXPECT_GT(gr[i].abs().max().item<double>(), 1e-3) << "input " << i;   // a gradient that is not trivially zero
      } else {
        EXPECT_EQ(gf[i].abs().sum().item<double>(), 0.0) << "input " << i;
      }
    }
  }
}

// The fused Dirichlet KL (one pass, hand-written backward) against torch's composition, float64.
TEST(ModelsVelovi, FusedDirichletKlMatchesTorchCompositionAndItsGradient) {
  const torch::TensorOptions f64 = torch::dtype(torch::kDouble);
  torch::manual_seed(4);
  const torch::Tensor a = (0.05 + 3 * torch::rand({6, 5, 4}, f64)).requires_grad_(true);
  const torch::Tensor w = torch::randn({6, 5}, f64);
  const double b = 0.25;
  const torch::Tensor fused = velovi::dirichlet_kl(a, b);
  const torch::Tensor sum_a = a.sum(-1);
  const torch::Tensor reference = torch::lgamma(sum_a) - std::lgamma(4 * b) - (torch::lgamma(a) - std::lgamma(b)).sum(-1) +
                                  ((a - b) * (torch::digamma(a) - torch::digamma(sum_a).unsqueeze(-1))).sum(-1);
  ASSERT_EQ(fused.sizes(), reference.sizes());
  EXPECT_LT((fused - reference).abs().max().item<double>(), 1e-11);
  const torch::Tensor gf = torch::autograd::grad({(fused * w).sum()}, {a})[0];
  const torch::Tensor gr = torch::autograd::grad({(reference * w).sum()}, {a})[0];
  EXPECT_LT((gf - gr).abs().max().item<double>(), 1e-9 * (1 + gr.abs().max().item<double>()));
  EXPECT_GT(gr.abs().max().item<double>(), 1e-2);
}

TEST(ModelsVelovi, GenePreprocessingFollowsScVelo) {
  EXPECT_NEAR(numpy_percentile({4, 1, 3, 2}, 95), 3.85, 1e-12);   // numpy.percentile([1, 2, 3, 4], 95)
  EXPECT_NEAR(numpy_percentile({1, 2, 3, 4}, 50), 2.5, 1e-12);
  // u = 0.5·s + 1 on 200 cells: min-max scaling maps both to the same [0, 1] column, so the scaled
  // regression through the origin has γ = 1 and r² = 1.
  std::vector<float> s, u;
  for (int i = 0; i < 200; ++i) {
    s.push_back(static_cast<float>(2 + 0.05 * i));
    u.push_back(static_cast<float>(0.5 * (2 + 0.05 * i) + 1));
  }
  const VeloviGeneStats g = velovi_gene_stats(s.data(), u.data(), 200);
  EXPECT_NEAR(g.s_scale, 1 / (0.05 * 199), 1e-6);
  EXPECT_NEAR(g.s_offset, -2 / (0.05 * 199), 1e-6);
  EXPECT_NEAR(g.gamma, 1.0, 1e-6);
  EXPECT_NEAR(g.r2, 1.0, 1e-6);
  EXPECT_TRUE(g.expressed);
  // Top 1 %: cells 198 and 199 (int(0.99·200) = 198), medians of their scaled values.
  EXPECT_NEAR(g.u_up, (198.0 / 199 + 1.0) / 2, 1e-6);
  EXPECT_NEAR(g.s_up, (198.0 / 199 + 1.0) / 2, 1e-6);
  // A gene with u independent of s fits badly; the selection keeps the good one only, and a
  // constant u (nothing expressed) never.
  std::vector<float> noise(200), flat_u(200, 3.0f);
  KeyedStream r(1);
  for (auto& x : noise) x = static_cast<float>(r.uniform());
  const VeloviGeneStats bad = velovi_gene_stats(s.data(), noise.data(), 200);
  const VeloviGeneStats off = velovi_gene_stats(s.data(), flat_u.data(), 200);
  EXPECT_LT(bad.r2, 0.01);
  EXPECT_FALSE(off.expressed);
  EXPECT_EQ(velovi_gene_selection({g, bad, off, g}, nullptr), (std::vector<uint8_t>{1, 0, 0, 1}));
  const std::vector<uint8_t> hv{1, 1, 1, 0};
  // highly_variable removes the last gene; one gene left (< 2): scVelo's r² > 80th-percentile rule.
  EXPECT_EQ(velovi_gene_selection({g, bad, off, g}, &hv), (std::vector<uint8_t>{0, 0, 0, 0}));
}

// Element-wise: |w − ref| / max(1e-3, |ref|). Per tensor: max |w − ref| over the tensor / max |ref|.
struct WeightDifference {
  double element = 0, tensor = 0, moved = 0;
};
WeightDifference compare(const VeloviFit& world, const VeloviFit& single, const VeloviFit& init) {
  WeightDifference d;
  EXPECT_EQ(world.weights.size(), single.weights.size());
  for (size_t p = 0; p < single.weights.size() && p < world.weights.size(); ++p) {
    const std::vector<double>&w = world.weights[p].second, &r = single.weights[p].second, &i0 = init.weights[p].second;
    EXPECT_EQ(world.weights[p].first, single.weights[p].first);
    if (w.size() != r.size()) continue;
    double diff = 0, scale = 0;
    for (size_t k = 0; k < r.size(); ++k) {
      if (!std::isfinite(r[k])) {   // α̃ = −inf for a gene without unspliced signal: equal on both sides
        EXPECT_EQ(w[k], r[k]);
        continue;
      }
      d.element = std::max(d.element, std::abs(w[k] - r[k]) / std::max(1e-3, std::abs(r[k])));
      diff = std::max(diff, std::abs(w[k] - r[k]));
      scale = std::max(scale, std::abs(r[k]));
      d.moved = std::max(d.moved, std::abs(r[k] - i0[k]));
    }
    if (scale > 0) d.tensor = std::max(d.tensor, diff / scale);
  }
  return d;
}

TEST(ModelsVelovi, RanksAgreeWithOneProcessOnTheSameBatches) {
  for (const bool dp : {true, false}) {
    VeloviOptions o = small_options();
    o.double_precision = dp;
    o.max_steps = 8;   // 3 batches per epoch: the run crosses two epoch boundaries and validations
    const VeloviFit world = fit_velovi(MPI_COMM_WORLD, synthetic(MPI_COMM_WORLD, 203, 12), o);
    if (test::rank() != 0) continue;
    const VeloviFit single = fit_velovi(MPI_COMM_SELF, synthetic(MPI_COMM_SELF, 203, 12), o);
    EXPECT_EQ(world.steps, 8);
    o.max_steps = 0;
    const VeloviFit init = fit_velovi(MPI_COMM_SELF, synthetic(MPI_COMM_SELF, 203, 12), o);
    const WeightDifference d = compare(world, single, init);
    std::printf("[ velovi ] %s, %d ranks vs 1 after 8 steps: max relative weight difference %.3g per element (floor 1e-3), "
                "%.3g per tensor; max change from the initial weights %.3g\n",
                dp ? "float64" : "float32", test::ranks(), d.element, d.tensor, d.moved);
    EXPECT_GT(d.moved, 1e-2);   // the weights did move: not a comparison of two initialisations
    if (dp) {
      EXPECT_LT(d.element, 1e-9);   // the same update up to float64 rounding
    } else {
      // float32: the batch sums split over ranks round differently and the normalisation layers'
      // centring amplifies that in small weights, so the element-wise figure is reported only.
      EXPECT_LT(d.tensor, 1e-5);
    }
    ASSERT_EQ(world.epoch_validation.size(), single.epoch_validation.size());
    for (size_t e = 0; e < single.epoch_validation.size(); ++e)
      EXPECT_NEAR(world.epoch_validation[e], single.epoch_validation[e], 1e-5 * std::abs(single.epoch_validation[e]));
  }
}

TEST(ModelsVelovi, ResumedRunEndsWithTheUninterruptedWeights) {
  const std::string dir = test::temp_dir();
  VeloviOptions o = small_options();
  o.max_epochs = 4;
  o.checkpoint = dir + "/straight.h5";
  const VeloviFit straight = fit_velovi(MPI_COMM_WORLD, synthetic(MPI_COMM_WORLD, 203, 12), o);
  o.checkpoint = dir + "/killed.h5";
  o.stop_after_epochs = 2;   // as if killed after the second epoch's checkpoint
  const VeloviFit first = fit_velovi(MPI_COMM_WORLD, synthetic(MPI_COMM_WORLD, 203, 12), o);
  EXPECT_FALSE(first.finished);
  o.stop_after_epochs = -1;
  const VeloviFit resumed = fit_velovi(MPI_COMM_WORLD, synthetic(MPI_COMM_WORLD, 203, 12), o);
  EXPECT_EQ(resumed.resumed_at_epoch, 2);
  EXPECT_EQ(resumed.steps, straight.steps);
  EXPECT_EQ(straight.steps, 12);
  EXPECT_EQ(flat(resumed), flat(straight));   // bitwise: the checkpoint holds all the state
  ASSERT_EQ(resumed.epoch_validation.size(), 4u);
  EXPECT_DOUBLE_EQ(resumed.epoch_validation[3], straight.epoch_validation[3]);
}

TEST(ModelsVelovi, SimulatedVelocityAndLatentTime) {
  Dataset d = simulated(MPI_COMM_WORLD, 400, 120);
  run_velovi(d, {{"max_epochs", "60"}, {"n_hidden", "128"}, {"uncertainty_samples", "20"}});
  // Contract slots (dynamo's extvelo velovi branch).
  ASSERT_TRUE(std::holds_alternative<DenseArray>(d.layers.at("velocity_S")));
  EXPECT_TRUE(d.layers.count("latent_time_velovi"));
  EXPECT_TRUE(d.uns.contains("dynamics"));
  for (const char* k : {"fit_alpha", "fit_beta", "fit_gamma", "fit_t_", "fit_scaling", "use_for_dynamics", "use_for_transition"})
    EXPECT_TRUE(d.var.has(k)) << k;
  const std::vector<uint8_t> used = gene_flags(d, "use_for_transition");
  const int64_t n_used = std::accumulate(used.begin(), used.end(), int64_t{0});
  EXPECT_GT(n_used, 20);

  EvaluateOptions eo;
  eo.truth_required = true;
  const EvaluationReport rep = evaluate_velocity(d, eo);
  // Baseline: the same values with gene identities rotated within every cell.
  {
    const DenseArray& v = std::get<DenseArray>(d.layers.at("velocity_S"));
    DenseArray a = DenseArray::zeros({d.n_obs_local, d.n_vars}, DType::f32);
    const int64_t shift = d.n_vars / 3;
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      for (int64_t g = 0; g < d.n_vars; ++g)
        a.values.data<float>()[i * d.n_vars + g] = v.values.data<float>()[i * d.n_vars + (g + shift) % d.n_vars];
    d.layers["velocity_S"] = std::move(a);
  }
  const EvaluationReport base = evaluate_velocity(d, eo);
  const double med = rep.gene_cosine->summary.median, base_med = base.gene_cosine->summary.median;
  const double rho = spearman(gather_doubles(obs_values(d, "velovi_latent_time")), gather_doubles(obs_values(d, "true_time")));
  const std::vector<double> unc = gather_doubles(obs_values(d, "velocity_uncertainty"));
  const double unc_mean = std::accumulate(unc.begin(), unc.end(), 0.0) / static_cast<double>(unc.size());
  if (test::rank() == 0)
    std::printf("[ velovi ] simulated 400 x 120 (%lld genes used): median cosine %.3f (gene-shuffled %.3f), latent time "
                "Spearman %.3f, mean uncertainty %.3g\n",
                static_cast<long long>(n_used), med, base_med, rho, unc_mean);
  EXPECT_GT(med, base_med + 0.2);
  EXPECT_GT(rho, 0.8);
  for (double x : unc) EXPECT_GE(x, 0.0);
  EXPECT_GT(unc_mean, 0.0);   // posterior samples do differ
}

TEST(ModelsVelovi, BadInputIsAClearError) {
  Dataset d = simulated(MPI_COMM_WORLD, 60, 20);
  d.layers.erase("M_s");
  EXPECT_EQ(test::error_of([&] { run_velovi(d, {}); }),
            "sim.h5ad: layers/M_s: velovi needs the spliced and unspliced moments (Ms_key, Mu_key): layer not present (run "
            "the moments stage first)");
  // One cell: ceil(0.9 · 1) = 1 training cell.
  Dataset one = simulated(MPI_COMM_WORLD, 1, 20);
  EXPECT_EQ(test::error_of([&] { run_velovi(one, {}); }),
            "sim.h5ad: obs: velovi: 1 training cells (of 1): too few cells for a batch (need at least 2)");
  // Constant unspliced moments: no gene is expressed in u, so none passes the filter.
  Dataset flat_u = simulated(MPI_COMM_WORLD, 60, 20);
  flat_u.layers["M_u"] = DenseArray::zeros({flat_u.n_obs_local, flat_u.n_vars}, DType::f32);
  EXPECT_EQ(test::error_of([&] { run_velovi(flat_u, {}); }),
            "sim.h5ad: layers/M_s, layers/M_u: velovi: no gene passes scVelo's steady-state filter on the min-max-scaled "
            "moments (r² > 0.01, γ > 0.01, u and s expressed): nothing to train");
  // A batch of one cell has no batch statistics: refused with the key named.
  Dataset e = simulated(MPI_COMM_WORLD, 60, 20);
  EXPECT_NE(test::error_of([&] { run_velovi(e, {{"batch_size", "1"}}); }).find("batch_size"), std::string::npos);
}
