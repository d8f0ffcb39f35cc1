// The simulator's building blocks on their own: the closed-form kinetics against a numerical ODE
// solution, the counter-based samplers against their moments, option parsing, and the pieces of
// `evaluate` that need no communication (transition syntax, kd-tree, exact sums).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "evaluate/kd_tree.hpp"
#include "evaluate/score_summary.hpp"
#include "evaluate/transitions.hpp"
#include "simulate/counter_rng.hpp"
#include "simulate/kinetics.hpp"
#include "simulate/simulation_keys.hpp"
#include "simulate/tree_model.hpp"

using namespace velofield;
using sim::Abundance;

namespace {
// Classic RK4 on (u, s) with a small fixed step: the reference the closed form must match.
Abundance integrate(Abundance x, double alpha, double beta, double gamma, double tau, int steps = 20000) {
  const double h = tau / steps;
  auto f = [&](const Abundance& a) { return Abundance{alpha - beta * a.u, beta * a.u - gamma * a.s}; };
  for (int i = 0; i < steps; ++i) {
    const Abundance k1 = f(x);
    const Abundance k2 = f({x.u + h / 2 * k1.u, x.s + h / 2 * k1.s});
    const Abundance k3 = f({x.u + h / 2 * k2.u, x.s + h / 2 * k2.s});
    const Abundance k4 = f({x.u + h * k3.u, x.s + h * k3.s});
    x.u += h / 6 * (k1.u + 2 * k2.u + 2 * k3.u + k4.u);
    x.s += h / 6 * (k1.s + 2 * k2.s + 2 * k3.s + k4.s);
  }
  return x;
}
}  // namespace

TEST(SimulateKinetics, ClosedFormMatchesNumericalSolution) {
  struct Case {
    Abundance start;
    double alpha, beta, gamma, tau;
  };
  const Case cases[] = {
      {{0, 0}, 2.0, 1.0, 0.3, 5.0},      // induction from zero, beta > gamma
      {{3, 1}, 0.0, 0.4, 1.5, 4.0},      // repression, gamma > beta
      {{0.5, 2}, 1.0, 0.7, 0.7, 6.0},    // beta == gamma: the resonant case
      {{0.5, 2}, 1.0, 0.7, 0.7 + 1e-9, 6.0},   // nearly equal: no cancellation blow-up
      {{1, 1}, 3.0, 2.9, 3.1, 0.01},     // tiny interval
  };
  for (const auto& c : cases) {
    const Abundance exact = sim::advance(c.start, c.alpha, c.beta, c.gamma, c.tau);
    const Abundance numeric = integrate(c.start, c.alpha, c.beta, c.gamma, c.tau);
    EXPECT_NEAR(exact.u, numeric.u, 1e-10 * std::max(1.0, std::fabs(numeric.u))) << c.beta << " " << c.gamma;
    EXPECT_NEAR(exact.s, numeric.s, 1e-10 * std::max(1.0, std::fabs(numeric.s))) << c.beta << " " << c.gamma;
  }
  // Steady state stays put, and tau = 0 is the identity.
  const Abundance steady{2.0 / 0.5, 2.0 / 0.25};
  const Abundance after = sim::advance(steady, 2.0, 0.5, 0.25, 7.0);
  EXPECT_NEAR(after.u, steady.u, 1e-12);
  EXPECT_NEAR(after.s, steady.s, 1e-12);
  EXPECT_EQ(sim::advance({1, 2}, 3, 4, 5, 0).s, 2.0);
}

TEST(SimulateRng, StreamsArePureFunctionsOfTheirKey) {
  sim::CounterRng a(sim::hash_key({7, 1, 42})), b(sim::hash_key({7, 1, 42})), c(sim::hash_key({7, 1, 43}));
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
  EXPECT_NE(sim::hash_key({1, 2}), sim::hash_key({2, 1}));
}

TEST(SimulateRng, SamplersHaveTheirMoments) {
  // n draws: the sample mean is within 4 standard errors and the variance within 5% of theory.
  const int n = 200000;
  auto check = [&](const char* what, double mean, double variance, auto draw) {
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      sim::CounterRng rng(sim::hash_key({99, static_cast<uint64_t>(i)}));
      const double x = draw(rng);
      sum += x;
      sum2 += x * x;
    }
    const double m = sum / n, v = sum2 / n - m * m;
    EXPECT_NEAR(m, mean, 4 * std::sqrt(variance / n)) << what;
    EXPECT_NEAR(v, variance, 0.05 * variance) << what;
  };
  for (double mu : {0.05, 0.8, 7.0, 12.0, 300.0}) {
    check("poisson", mu, mu, [&](sim::CounterRng& r) { return static_cast<double>(r.poisson(mu)); });
    check("nb", mu, mu + mu * mu / 2.0, [&](sim::CounterRng& r) { return static_cast<double>(r.negative_binomial(mu, 2.0)); });
  }
  check("normal", 0, 1, [](sim::CounterRng& r) { return r.normal(); });
  check("gamma(0.4)", 0.4, 0.4, [](sim::CounterRng& r) { return r.gamma(0.4); });
  check("gamma(3)", 3, 3, [](sim::CounterRng& r) { return r.gamma(3.0); });
}

TEST(SimulateModel, GenesFollowTheirSwitchingPrograms) {
  SimulationOptions o;
  o.n_genes = 300;
  o.n_lineages = 3;
  o.seed = 5;
  const sim::TreeModel model(o);
  int programs[3] = {0, 0, 0};
  for (int64_t j = 0; j < o.n_genes; ++j) {
    const auto& g = model.genes()[static_cast<size_t>(j)];
    programs[static_cast<int>(g.program)]++;
    EXPECT_GT(g.beta, 0);
    EXPECT_GT(g.gamma, 0);
    if (g.program == sim::GeneProgram::lineage) {
      // Silent on the trunk and on the other lineages, expressed after onset on its own.
      EXPECT_GE(g.onset, model.branch_time());
      const int other = g.lineage % 3 + 1;
      EXPECT_EQ(model.abundance(j, other, 9.0).s, 0.0);
      EXPECT_EQ(model.abundance(j, 0, model.branch_time() - 1e-9).s, 0.0);
      EXPECT_GT(model.abundance(j, g.lineage, std::min(g.switch_time, 10.0)).s, 0.0);
    }
    if (g.program == sim::GeneProgram::repression) {
      EXPECT_TRUE(std::isnan(g.onset));
      EXPECT_NEAR(model.abundance(j, 1, 0.0).s, g.alpha_on / g.gamma, 1e-12);
    }
    // α(t) is α_on exactly between onset and switch time.
    EXPECT_EQ(model.alpha(j, g.lineage == 0 ? 1 : g.lineage, g.switch_time + 1e-9), 0.0);
  }
  EXPECT_GT(programs[0], 30);
  EXPECT_GT(programs[1], 30);
  EXPECT_GT(programs[2], 100);
  EXPECT_NEAR(model.expected_spliced_density(), o.density, 1e-6);
}

TEST(SimulateModel, TruthGeneSubsetRule) {
  SimulationOptions o;
  o.n_cells = 1000;
  o.n_genes = 50;
  o.truth_max_entries = 1000 * 50;
  EXPECT_EQ(sim::TreeModel(o).truth_genes().size(), 50u);
  o.truth_max_entries = 1000 * 50 - 1;   // floor(49999 / 1000) = 49 evenly spaced genes
  const auto sub = sim::TreeModel(o).truth_genes();
  ASSERT_EQ(sub.size(), 49u);
  EXPECT_EQ(sub.front(), 0);
  EXPECT_TRUE(std::is_sorted(sub.begin(), sub.end()));
  EXPECT_EQ(std::adjacent_find(sub.begin(), sub.end()), sub.end());
  o.truth_max_entries = 10;   // fewer entries than cells: still one gene
  EXPECT_EQ(sim::TreeModel(o).truth_genes().size(), 1u);
}

TEST(SimulateOptions, KeysParseAndErrorsNameTheKey) {
  const SimulationOptions o = simulation_options_from(
      {{"cells", "1e4"}, {"genes", "20"}, {"noise", "nb"}, {"noise-free", "true"}, {"seed", "12"}}, "run.ini [simulate]");
  EXPECT_EQ(o.n_cells, 10000);
  EXPECT_EQ(o.n_genes, 20);
  EXPECT_EQ(o.noise, "nb");
  EXPECT_TRUE(o.noise_free);
  EXPECT_EQ(o.seed, 12u);
  auto message = [](std::map<std::string, std::string> values) {
    try {
      simulation_options_from(values, "run.ini [simulate]");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({{"cels", "10"}}).rfind("run.ini [simulate]: cels: unknown key", 0), 0u) << message({{"cels", "10"}});
  EXPECT_NE(message({{"density", "1.5"}}).find("density: expected a fraction in (0, 1)"), std::string::npos);
  EXPECT_NE(message({{"noise", "gauss"}}).find("noise: expected poisson or nb"), std::string::npos);
  EXPECT_NE(message({{"cells", "ten"}}).find("cells: expected"), std::string::npos);
  EXPECT_NE(message({{"cells", "0"}}).find("cells: expected at least 1"), std::string::npos);
  EXPECT_NE(message({{"noise-free", "maybe"}}).find("noise-free: expected true or false"), std::string::npos);
  // A density the tree cannot produce (most genes silent on most of it) is refused, not missed.
  SimulationOptions dense = simulation_options_from({{"density", "0.95"}, {"lineages", "5"}}, "run.ini [simulate]");
  try {
    sim::TreeModel model(dense);
    ADD_FAILURE() << "no error for an unreachable density";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("run.ini [simulate]: density: 0.95 cannot be reached", 0), 0u) << e.what();
  }
}

TEST(EvaluateTransitions, ChainsSetsAndNamesWithSpaces) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(parse_transitions("A>B,B>C", "--transitions"), (std::vector<P>{{"A", "B"}, {"B", "C"}}));
  EXPECT_EQ(parse_transitions("Ductal > Ngn3 low EP > Pre-endocrine>{Alpha, Beta}", "--transitions"),
            (std::vector<P>{{"Ductal", "Ngn3 low EP"}, {"Ngn3 low EP", "Pre-endocrine"}, {"Pre-endocrine", "Alpha"},
                            {"Pre-endocrine", "Beta"}}));
  EXPECT_THROW(parse_transitions("A>", "--transitions"), Error);
  EXPECT_THROW(parse_transitions("A", "--transitions"), Error);
  EXPECT_THROW(parse_transitions("A>{B,C", "--transitions"), Error);
  EXPECT_THROW(parse_transitions("", "--transitions"), Error);
}

TEST(EvaluateKdTree, MatchesBruteForceWithTiesByIndex) {
  // Points on an integer grid have many equal distances: the order must still be unique.
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> coord(0, 20);
  const int n = 2000, dim = 2, k = 12;
  std::vector<double> pts(n * dim);
  for (auto& v : pts) v = coord(gen);
  const KdTree tree(pts.data(), n, dim);
  for (int q = 0; q < n; q += 37) {
    std::vector<std::pair<double, int64_t>> all;
    for (int p = 0; p < n; ++p) {
      if (p == q) continue;
      const double dx = pts[p * 2] - pts[q * 2], dy = pts[p * 2 + 1] - pts[q * 2 + 1];
      all.emplace_back(dx * dx + dy * dy, p);
    }
    std::sort(all.begin(), all.end());
    const auto got = tree.nearest(pts.data() + q * dim, k, q);
    ASSERT_EQ(got.size(), static_cast<size_t>(k));
    for (int i = 0; i < k; ++i) EXPECT_EQ(got[i], all[i].second) << "query " << q << " rank " << i;
  }
}

TEST(EvaluateExactSum, IndependentOfOrderAndGrouping) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(10000);
  for (auto& x : v) x = u(gen);
  ExactSum a, b;
  for (double x : v) a.add(x);
  std::shuffle(v.begin(), v.end(), gen);
  for (double x : v) b.add(x);
  EXPECT_EQ(a.value(), b.value());
  EXPECT_NEAR(a.value(), std::accumulate(v.begin(), v.end(), 0.0), 1e-12);
  // Medians on one rank equal numpy's definition.
  EXPECT_EQ(summarize_scores({0.5, -0.25, 1.0, 0.0}, MPI_COMM_SELF).median, 0.25);
  EXPECT_EQ(summarize_scores({0.5, -0.25, 1.0}, MPI_COMM_SELF).median, 0.5);
  EXPECT_EQ(summarize_scores({-0.0, 0.0, -1.0}, MPI_COMM_SELF).median, 0.0);
}
