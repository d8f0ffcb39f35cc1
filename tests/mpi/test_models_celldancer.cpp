// cellDancer: the forward pass from the shipped pretrained weights reproduces the converted check
// values; training recovers the direction of a clean induction gene; the `dynamics --method
// celldancer` run on simulated data agrees with the truth (above a gene-shuffled baseline) and gives
// the same velocities at 1 rank as at 2 and 3, bit for bit (random draws keyed by gene, training
// stacks planned over the whole block, stacks taken from the ranks' dynamic work queue).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/config.hpp"
#include "core/gather.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "simulate/simulator.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/models/celldancer_network.hpp"
#include "velocity/models/celldancer_sampling.hpp"
#include "velocity/velocity_storage.hpp"

using namespace velofield;
using namespace velofield::models;

namespace {

std::string weights_dir() { return test::shared_dir() + "/reference/celldancer"; }

std::vector<float> read_floats(const std::string& file, const std::string& name) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t ds = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  const hid_t space = H5Dget_space(ds);
  std::vector<float> out(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(f);
  return out;
}

// Runs `dynamics --method celldancer` on d with a few keys.
void run_celldancer(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = dynamics_stage();
  Config config;
  config.set("dynamics", "method", "celldancer");
  config.set("dynamics", "celldancer_weights", weights_dir());
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  stage.run(d, StageConfig(config, "dynamics", stage.keys));
}

Dataset simulated(MPI_Comm comm) {
  SimulationOptions o;
  o.n_cells = 500;
  o.n_genes = 40;
  o.seed = 3;
  o.noise_free = true;   // expected abundances: the moments a perfect smoother would give
  Dataset d = simulate(comm, o);
  d.source = "sim.h5ad";
  d.layers["M_s"] = d.layers.at("spliced");
  d.layers["M_u"] = d.layers.at("unspliced");
  return d;
}

std::vector<float> dense_rows(const Dataset& d, const std::string& layer) {
  const Matrix& m = d.layers.at(layer);
  const DenseArray a = std::holds_alternative<DenseArray>(m) ? std::get<DenseArray>(m) : csr_to_dense(std::get<CsrMatrix>(m));
  std::vector<float> out(static_cast<size_t>(a.elements()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = a.values.dtype() == DType::f32 ? a.values.data<float>()[i] : static_cast<float>(a.values.data<double>()[i]);
  return out;
}

std::vector<double> gene_values(const Dataset& d, const std::string& column) {
  const Array& a = d.var.columns.at(column).values;
  return std::vector<double>(a.data<double>(), a.data<double>() + d.n_vars);
}

}  // namespace

TEST(ModelsCellDancer, PretrainedForwardReproducesTheCheckValues) {
  for (const char* name : {"circle.h5", "branch.h5"}) {
    const std::string file = weights_dir() + "/" + name;
    if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is absent: skipping (CI has it)";
    const CellDancerNet net = read_celldancer_net(file);
    const std::vector<float> input = read_floats(file, "check_input");
    const std::vector<float> expect = read_floats(file, "check_forward_output");
    const std::vector<float> factors = read_floats(file, "check_output");
    const std::vector<float> got = celldancer_forward(net, input, 2, 1, 1, 0.5);
    ASSERT_EQ(got.size(), expect.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[i], 1e-6) << name << " entry " << i;
    // alpha0 = beta0 = gamma0 = 1: columns 2..4 are the raw sigmoid factors (alpha, beta, gamma order).
    const std::vector<float> raw = celldancer_forward(net, input, 1, 1, 1, 0.5);
    for (int r = 0; r < 2; ++r) {
      EXPECT_NEAR(raw[static_cast<size_t>(r * 5 + 3)], factors[static_cast<size_t>(r * 3 + 0)], 1e-6);   // beta
      EXPECT_NEAR(raw[static_cast<size_t>(r * 5 + 4)], factors[static_cast<size_t>(r * 3 + 1)], 1e-6);   // gamma
      EXPECT_NEAR(raw[static_cast<size_t>(r * 5 + 2)], factors[static_cast<size_t>(r * 3 + 2)], 1e-6);   // alpha
    }
  }
  // The spec's l3.bias fingerprints of the two files.
  const std::string circle = weights_dir() + "/circle.h5";
  const CellDancerNet c = read_celldancer_net(circle);
  EXPECT_NEAR(c.l3_bias[0], 0.05994, 1e-5);
  EXPECT_NEAR(c.l3_bias[2], -0.27415, 1e-5);
}

TEST(ModelsCellDancer, SamplingHelpersFollowCellDancer) {
  // 1 % rounding with de-duplication: (0.004, 1) and (0, 1.004) fall on the same grid point.
  const std::vector<double> pts = unique_rounded_points({0.004, 0.0, 1.0}, {1.0, 1.004, 0.5});
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_DOUBLE_EQ(pts[0], 0.0);
  EXPECT_DOUBLE_EQ(pts[1], 1.0 * 100 * 0.01 * 1.004);
  KeyedStream a(5), b(5);
  const std::vector<int64_t> s = subsample(80, 0.125, a);
  EXPECT_EQ(s.size(), 10u);
  EXPECT_EQ(s, subsample(80, 0.125, b));   // keyed: the same draw wherever it is made
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  // A dense cloud: the 25th-percentile density cut keeps about three quarters of the grid picks.
  std::vector<double> cloud;
  KeyedStream r(9);
  for (int i = 0; i < 400; ++i) {
    cloud.push_back(r.normal());
    cloud.push_back(r.normal());
  }
  const std::vector<int64_t> kept = grid_downsample(cloud, 20, 0.15, r);
  EXPECT_GT(kept.size(), 50u);
  EXPECT_LT(kept.size(), 330u);
}

TEST(ModelsCellDancer, InductionGeneDirectionIsRecovered) {
  const std::string file = weights_dir() + "/circle.h5";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is absent: skipping (CI has it)";
  // Induction from (0, 0): u = a/b (1 − e^{−bt}), s closed form; true velocity b u − c s > 0.
  const double alpha = 2, beta = 1, gamma = 0.5;
  std::vector<float> u, s;
  std::vector<double> truth;
  for (int i = 0; i < 500; ++i) {
    const double t = 6.0 * i / 500;
    const double ut = alpha / beta * (1 - std::exp(-beta * t));
    const double st = alpha / gamma * (1 - std::exp(-gamma * t)) + alpha / (gamma - beta) * (std::exp(-gamma * t) - std::exp(-beta * t));
    u.push_back(static_cast<float>(ut));
    s.push_back(static_cast<float>(st));
    truth.push_back(beta * ut - gamma * st);
  }
  GeneFitData g;
  g.gene = 0;
  g.umax = *std::max_element(u.begin(), u.end());
  g.smax = *std::max_element(s.begin(), s.end());
  g.points = unique_rounded_points(std::vector<double>(u.begin(), u.end()), std::vector<double>(s.begin(), s.end()));
  CellDancerOptions o;
  o.permutation_ratio = 0.5;
  CellDancerOptions untrained = o;
  untrained.max_epochs = 1;
  const CellDancerNet circle = read_celldancer_net(file), branch = read_celldancer_net(weights_dir() + "/branch.h5");
  const GeneModel first = train_celldancer({g}, circle, branch, untrained)[0];
  const GeneModel m = train_celldancer({g}, circle, branch, o)[0];
  ASSERT_TRUE(m.trained);
  const GenePrediction p = predict_celldancer(m, g.umax, g.smax, u.data(), s.data(), 500, o.dt);
  int agree = 0;
  for (int i = 0; i < 500; ++i) agree += (p.velocity_s[static_cast<size_t>(i)] > 0) == (truth[static_cast<size_t>(i)] > 0);
  std::printf("[ celldancer ] induction gene: sign agreement %.3f, loss %.4f -> %.4f in %lld epochs (%s init)\n", agree / 500.0,
              first.loss, m.loss, static_cast<long long>(m.epochs), m.circle ? "circle" : "branch");
  EXPECT_GE(agree, 450);   // ≥ 90 %, spec §2.7
  EXPECT_LT(m.loss, first.loss);
}

TEST(ModelsCellDancer, SimulatedVelocityBeatsShuffledAndIsRankIndependent) {
  Dataset d = simulated(MPI_COMM_WORLD);
  run_celldancer(d, {{"basis", "X_true_2d"}, {"max_epoches", "120"}});
  EvaluateOptions eo;
  eo.truth_required = true;
  const EvaluationReport rep = evaluate_velocity(d, eo);
  // Baseline: the same values with gene identities shuffled within every cell.
  Matrix estimate = d.layers.at("velocity_S");
  {
    const std::vector<float> v = dense_rows(d, "velocity_S");
    std::vector<int64_t> perm(static_cast<size_t>(d.n_vars));
    std::iota(perm.begin(), perm.end(), 0);
    std::rotate(perm.begin(), perm.begin() + d.n_vars / 3, perm.end());
    DenseArray a = DenseArray::zeros({d.n_obs_local, d.n_vars}, DType::f32);
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      for (int64_t g = 0; g < d.n_vars; ++g)
        a.values.data<float>()[i * d.n_vars + g] = v[static_cast<size_t>(i * d.n_vars + perm[static_cast<size_t>(g)])];
    d.layers["velocity_S"] = std::move(a);
  }
  const EvaluationReport base = evaluate_velocity(d, eo);
  d.layers["velocity_S"] = std::move(estimate);
  const double med = rep.gene_cosine->summary.median, base_med = base.gene_cosine->summary.median;
  if (test::rank() == 0)
    std::printf("[ celldancer ] simulated 500 x 40: median cosine %.3f (gene-shuffled baseline %.3f)\n", med, base_med);
  EXPECT_GT(med, 0.3);
  EXPECT_GT(med, base_med + 0.2);

  // The same run on one process (rank 0 alone) gives the same velocities.
  const std::vector<float> mine = dense_rows(d, "velocity_S");
  std::vector<float> all(static_cast<size_t>(d.n_obs * d.n_vars));
  std::vector<int> counts(static_cast<size_t>(test::ranks())), disp(static_cast<size_t>(test::ranks()));
  const BlockPartition part = d.partition();
  for (int r = 0; r < test::ranks(); ++r) {
    counts[static_cast<size_t>(r)] = static_cast<int>(part.size(r) * d.n_vars);
    disp[static_cast<size_t>(r)] = static_cast<int>(part.begin(r) * d.n_vars);
  }
  MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_FLOAT, all.data(), counts.data(), disp.data(), MPI_FLOAT, 0,
              MPI_COMM_WORLD);
  if (test::rank() != 0) return;
  Dataset single = simulated(MPI_COMM_SELF);
  run_celldancer(single, {{"basis", "X_true_2d"}, {"max_epoches", "120"}});
  const std::vector<float> ref = dense_rows(single, "velocity_S");
  double worst = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(all[i] - ref[i])));
    scale = std::max(scale, static_cast<double>(std::abs(ref[i])));
  }
  std::printf("[ celldancer ] %d ranks vs 1: max |difference| %.3g (max |velocity| %.3g)\n", test::ranks(), worst, scale);
  // Exactly: every rank plans the same stacks over the whole block, so the arithmetic is the same.
  EXPECT_EQ(worst, 0);
  EXPECT_GT(scale, 0.05);
}

TEST(ModelsCellDancer, StackPlanCoversEveryFittableGeneOnceMostExpensiveFirst) {
  // 50 genes: gene 1 has one point, genes i ≡ 0 (mod 7) none, the others 80·(i mod 7) points.
  std::vector<GeneFitData> genes(50);
  for (size_t i = 0; i < genes.size(); ++i) {
    genes[i].gene = static_cast<int64_t>(i);
    genes[i].umax = genes[i].smax = 1;
    genes[i].points.assign(i == 1 ? 2 : 160 * (i % 7), 0.5);
  }
  CellDancerOptions o;
  o.stack_genes = 4;
  const std::vector<CellDancerStack> plan = plan_celldancer_stacks(genes, o);
  std::vector<int> seen(genes.size(), 0);
  for (size_t k = 0; k < plan.size(); ++k) {
    EXPECT_GE(plan[k].members.size(), 1u);
    EXPECT_LE(plan[k].members.size(), 4u);
    if (k > 0) {
      EXPECT_LE(plan[k].cost, plan[k - 1].cost);
    }
    for (size_t m : plan[k].members) ++seen[m];
  }
  int fittable = 0;
  for (size_t i = 0; i < genes.size(); ++i) {
    const bool fit = i != 1 && i % 7 != 0;
    fittable += fit;
    EXPECT_EQ(seen[i], fit ? 1 : 0) << "gene " << i;
  }
  EXPECT_EQ(fittable, 41);
  // 41 genes, largest first, in stacks of at most 4 genes: 10 of 4 and 1 of 1.
  EXPECT_EQ(plan.size(), 11u);
  // The first: 4 genes of 480 points (subsample n = 60): 4 × 60 × (60 + 100).
  EXPECT_DOUBLE_EQ(plan[0].cost, 4.0 * 60 * 160);
  // A flattened network round-trips.
  const CellDancerNet net = random_celldancer_net(7);
  std::vector<float> flat(static_cast<size_t>(kCellDancerParameters));
  flatten_celldancer_net(net, flat.data());
  EXPECT_EQ(flat.size(), 10703u);
  const CellDancerNet back = unflatten_celldancer_net(flat.data());
  EXPECT_EQ(back.l1_weight, net.l1_weight);
  EXPECT_EQ(back.l2_weight, net.l2_weight);
  EXPECT_EQ(back.l3_bias, net.l3_bias);
}

TEST(ModelsCellDancer, DynamicQueueGivesTheSameResultsAtEveryRankCount) {
  // Small blocks and stacks: blocks of 16, 16 and 8 genes, up to 6 stacks per block taken from the queue by
  // whichever rank is free. Every output equals the one-process run exactly.
  const std::map<std::string, std::string> keys = {
      {"basis", "X_true_2d"}, {"max_epoches", "30"}, {"genes_per_block", "16"}, {"stack_genes", "3"}};
  Dataset d = simulated(MPI_COMM_WORLD);
  run_celldancer(d, keys);
  std::vector<float> mine;
  for (const char* layer : {"velocity_S", "velocity_U", "alpha", "gamma"}) {
    const std::vector<float> v = dense_rows(d, layer);
    mine.insert(mine.end(), v.begin(), v.end());
  }
  const std::vector<double> vs = gather_concat(MPI_COMM_WORLD, std::vector<double>(mine.begin(), mine.end()));
  const std::vector<double> loss = gene_values(d, "celldancer_loss"), epochs = gene_values(d, "celldancer_epochs");
  if (test::rank() != 0) return;
  Dataset single = simulated(MPI_COMM_SELF);
  run_celldancer(single, keys);
  // gather_concat concatenates each rank's [velocity_S rows, velocity_U rows, ...]: compare per rank and layer.
  const BlockPartition part = d.partition();
  size_t at = 0;
  double worst = 0, scale = 0;
  for (int r = 0; r < test::ranks(); ++r) {
    for (const char* layer : {"velocity_S", "velocity_U", "alpha", "gamma"}) {
      const std::vector<float> ref = dense_rows(single, layer);
      for (int64_t i = part.begin(r); i < part.begin(r) + part.size(r); ++i)
        for (int64_t g = 0; g < d.n_vars; ++g) {
          const double want = ref[static_cast<size_t>(i * d.n_vars + g)];
          worst = std::max(worst, std::abs(vs[at++] - want));
          scale = std::max(scale, std::abs(want));
        }
    }
  }
  ASSERT_EQ(at, vs.size());
  const std::vector<double> loss1 = gene_values(single, "celldancer_loss"), epochs1 = gene_values(single, "celldancer_epochs");
  int fitted = 0;
  for (size_t g = 0; g < loss.size(); ++g) {
    if (std::isnan(loss1[g])) {
      EXPECT_TRUE(std::isnan(loss[g]));
      continue;
    }
    ++fitted;
    EXPECT_EQ(loss[g], loss1[g]) << "gene " << g;
    EXPECT_EQ(epochs[g], epochs1[g]) << "gene " << g;
  }
  std::printf("[ celldancer ] queue, %d ranks vs 1: %d genes fitted, max |difference| %.3g (max |value| %.3g)\n", test::ranks(),
              fitted, worst, scale);
  EXPECT_GT(fitted, 30);
  EXPECT_GT(scale, 0);
  EXPECT_EQ(worst, 0);
}

TEST(ModelsCellDancer, BadInputIsAClearError) {
  Dataset d = simulated(MPI_COMM_WORLD);
  d.layers.erase("M_u");
  EXPECT_NE(test::error_of([&] { run_celldancer(d, {{"basis", "X_true_2d"}}); }).find("layers/M_u"), std::string::npos);
  Dataset e = simulated(MPI_COMM_WORLD);
  std::vector<uint8_t> none(static_cast<size_t>(e.n_vars), 0);
  set_gene_flags(e, "use_for_pca", none);
  EXPECT_EQ(test::error_of([&] { run_celldancer(e, {{"basis", "X_true_2d"}}); }),
            "sim.h5ad: var/use_for_pca: no gene selected: nothing for celldancer to fit");
}
