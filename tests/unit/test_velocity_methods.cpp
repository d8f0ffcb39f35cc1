// The registry of velocity methods behind `dynamics --method NAME`: a method registered by name runs
// with its own keys; a key of another method, or an unknown method, is an error naming the option.
#include <gtest/gtest.h>

#include <algorithm>

#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/velocity_method.hpp"

using namespace velofield;

namespace {
int& toy_runs() {
  static int n = 0;
  return n;
}
double& toy_epochs() {
  static double e = 0;
  return e;
}

// A method of the kind the LibTorch models will be: its own key, its own run.
void register_toy() {
  register_velocity_method({"toy", "a method with its own key", {{"epochs", "10", "training epochs"}},
                            [](Dataset&, const StageConfig& sc) {
                              ++toy_runs();
                              toy_epochs() = sc.get_double("epochs");
                            }});
}

void run(const Stage& stage, Dataset& d, const std::map<std::string, std::string>& keys) {
  Config config;
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  stage.run(d, StageConfig(config, "dynamics", stage.keys));
}
}  // namespace

TEST(VelocityMethods, RegisteredByNameWithTheirOwnKeys) {
  register_builtin_velocity_methods();
  register_toy();
  ASSERT_NE(find_velocity_method("stochastic"), nullptr);
  ASSERT_NE(find_velocity_method("deterministic"), nullptr);
  ASSERT_NE(find_velocity_method("toy"), nullptr);
  const Stage stage = dynamics_stage();
  // The stage declares `method`, the steady-state keys once (both methods share them) and the toy's.
  std::vector<std::string> names;
  for (const auto& k : stage.keys) names.push_back(k.name);
  // (the LibTorch models, registered between them and the toy, add their own keys in between)
  ASSERT_GE(names.size(), 7u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 6),
            (std::vector<std::string>{"method", "perc_right", "perc_left", "min_gamma", "min_r2", "del_2nd_moments"}));
  EXPECT_EQ(std::count(names.begin(), names.end(), "epochs"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "perc_right"), 1);
  EXPECT_EQ(stage.keys[0].default_value, "stochastic");
  EXPECT_NE(stage.keys[0].help.find("stochastic | deterministic | "), std::string::npos);
  EXPECT_NE(stage.keys[0].help.find(" | toy"), std::string::npos);

  Dataset d = Dataset::create(MPI_COMM_SELF, 4, 3);
  toy_runs() = 0;
  run(stage, d, {{"method", "toy"}, {"epochs", "25"}});
  EXPECT_EQ(toy_runs(), 1);
  EXPECT_EQ(toy_epochs(), 25);
  EXPECT_EQ(test::error_of([&] { run(stage, d, {{"method", "stochastic"}, {"epochs", "3"}}); }),
            "--dynamics.epochs: not a key of method 'stochastic' (it takes: perc_right, perc_left, min_gamma, min_r2, del_2nd_moments)");
  EXPECT_EQ(test::error_of([&] { run(stage, d, {{"method", "toy"}, {"perc_right", "5"}}); }),
            "--dynamics.perc_right: not a key of method 'toy' (it takes: epochs)");
  EXPECT_NE(test::error_of([&] { run(stage, d, {{"method", "velocityx"}}); })
                .find("--dynamics.method: unknown velocity method 'velocityx' (known: stochastic | deterministic | "),
            std::string::npos);
  EXPECT_EQ(toy_runs(), 1);
}

// A key two methods share takes, for each method, that method's own default: the toy's `epochs`
// defaults to 10 although LatentVelo, registered first, declares `epochs` with 50.
TEST(VelocityMethods, SharedKeyTakesTheRunningMethodsDefault) {
  register_builtin_velocity_methods();
  register_toy();
  const Stage stage = dynamics_stage();
  const auto first = std::find_if(stage.keys.begin(), stage.keys.end(), [](const StageKey& k) { return k.name == "epochs"; });
  ASSERT_NE(first, stage.keys.end());
  ASSERT_NE(first->default_value, "10");   // else this test would not tell the two defaults apart
  Dataset d = Dataset::create(MPI_COMM_SELF, 4, 3);
  run(stage, d, {{"method", "toy"}});
  EXPECT_EQ(toy_epochs(), 10);
  run(stage, d, {{"method", "toy"}, {"epochs", "7"}});
  EXPECT_EQ(toy_epochs(), 7);
}
