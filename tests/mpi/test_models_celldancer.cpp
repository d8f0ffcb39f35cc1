// cellDancer: the forward pass from the shipped pretrained weights reproduces the converted check
// values; training recovers the direction of a clean induction gene; the `dynamics --method
// celldancer` run on simulated data agrees with the truth (above a gene-shuffled baseline) and gives
// the same velocities at 1 rank as at 2 and 3 (genes are keyed, not rank-assigned, random draws).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/config.hpp"
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
  EXPECT_LE(worst, 1e-5 * scale);
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
