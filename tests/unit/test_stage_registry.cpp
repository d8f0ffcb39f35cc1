// The stage registry: declared keys and their defaults, the misspelt-key check, the [run] plan and
// the runner (order of calls, one timing record per stage).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/timers.hpp"
#include "data/dataset.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stage.hpp"
#include "test_support.hpp"

using namespace velofield;
using velofield::test::all_gather;
using velofield::test::error_of;

namespace {

using Strings = std::vector<std::string>;

// What the test stages saw, in call order.
std::vector<std::string>& calls() {
  static std::vector<std::string> c;
  return c;
}

const std::vector<StageKey>& alpha_keys() {
  static const std::vector<StageKey> keys{
      {"n_neighbors", "30", "neighbours per cell"},
      {"scale", "0.5", "a real-valued option"},
      {"flag", "true", "a switch that defaults to on"},
      {"off", "false", "a switch that defaults to off"},
      {"basis", "pca, umap", "a list"},
      {"method", "stochastic", "a string"},
  };
  return keys;
}

void register_test_stages() {
  register_stage(Stage{"test_alpha", "records its options", alpha_keys(), [](Dataset& d, const StageConfig& c) {
                         calls().push_back("test_alpha n_neighbors=" + std::to_string(c.get_int("n_neighbors")) +
                                           " method=" + c.get_string("method"));
                         d.uns["ran_alpha"] = UnsNode::string("yes");
                       }});
  register_stage(Stage{"test_beta", "records that it ran", {{"level", "1", "an integer"}},
                       [](Dataset& d, const StageConfig& c) {
                         calls().push_back("test_beta level=" + std::to_string(c.get_int("level")) +
                                           " cells=" + std::to_string(d.n_obs));
                       }});
  register_stage(Stage{"test_throws", "fails", {}, [](Dataset&, const StageConfig&) {
                         calls().push_back("test_throws");
                         throw Error("test_throws: deliberate failure");
                       }});
}


class StageRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    register_test_stages();
    calls().clear();
    Timings::get().clear();
  }
  void TearDown() override { Timings::get().clear(); }
};

}  // namespace

TEST_F(StageRegistry, RegisteredStagesAreFoundByNameOnce) {
  const Stage* a = find_stage("test_alpha");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "test_alpha");
  EXPECT_EQ(a->summary, "records its options");
  ASSERT_EQ(a->keys.size(), 6u);
  EXPECT_EQ(a->keys[0].name, "n_neighbors");
  EXPECT_EQ(a->keys[0].default_value, "30");
  EXPECT_EQ(find_stage("no_such_stage"), nullptr);

  // Registering a name again keeps the first registration.
  const size_t before = stages().size();
  register_stage(Stage{"test_alpha", "a second registration", {}, nullptr});
  EXPECT_EQ(stages().size(), before);
  EXPECT_EQ(find_stage("test_alpha")->summary, "records its options");

  // Registration order is kept.
  size_t ia = stages().size(), ib = stages().size();
  for (size_t i = 0; i < stages().size(); ++i) {
    if (stages()[i].name == "test_alpha") ia = i;
    if (stages()[i].name == "test_beta") ib = i;
  }
  ASSERT_LT(ia, stages().size());
  ASSERT_LT(ib, stages().size());
  EXPECT_EQ(ib, ia + 1);
}

TEST_F(StageRegistry, StageConfigUsesDeclaredDefaults) {
  const Config config = Config::from_string("[other]\nn_neighbors = 99\n", "run.ini");
  const StageConfig sc(config, "test_alpha", alpha_keys());
  EXPECT_EQ(sc.section(), "test_alpha");
  EXPECT_EQ(&sc.config(), &config);
  EXPECT_EQ(sc.get_int("n_neighbors"), 30);
  EXPECT_EQ(sc.get_double("scale"), 0.5);
  EXPECT_TRUE(sc.get_bool("flag"));
  EXPECT_FALSE(sc.get_bool("off"));
  EXPECT_EQ(sc.get_list("basis"), (Strings{"pca", "umap"}));
  EXPECT_EQ(sc.get_string("method"), "stochastic");
}

TEST_F(StageRegistry, StageConfigPrefersConfigValues) {
  Config config = Config::from_string(
      "[test_alpha]\nn_neighbors = 1e2\nscale = 2.25\nflag = no\noff = yes\nbasis = X_pca\n", "run.ini");
  config.set_dotted("test_alpha.method", "deterministic");
  const StageConfig sc(config, "test_alpha", alpha_keys());
  EXPECT_EQ(sc.get_int("n_neighbors"), 100);
  EXPECT_EQ(sc.get_double("scale"), 2.25);
  EXPECT_FALSE(sc.get_bool("flag"));
  EXPECT_TRUE(sc.get_bool("off"));
  EXPECT_EQ(sc.get_list("basis"), (Strings{"X_pca"}));
  EXPECT_EQ(sc.get_string("method"), "deterministic");
}

TEST_F(StageRegistry, StageConfigErrors) {
  const Config config = Config::from_string("[test_alpha]\nn_neighbors = many\n", "run.ini");
  const StageConfig sc(config, "test_alpha", alpha_keys());
  EXPECT_EQ(error_of([&] { sc.get_int("n_neighbors"); }),
            "run.ini: [test_alpha] n_neighbors: expected an integer, found 'many'");
  EXPECT_EQ(error_of([&] { sc.get_string("n_neighbour"); }),
            "internal: stage [test_alpha] asked for undeclared key 'n_neighbour'");
  EXPECT_EQ(error_of([&] { sc.get_double("nope"); }), "internal: stage [test_alpha] asked for undeclared key 'nope'");
}

TEST_F(StageRegistry, CheckStageKeysAcceptsDeclaredKeysAndFreeSections) {
  const Config config = Config::from_string(
      "[run]\ninput = x.h5ad\nanything = goes\n[test_alpha]\nn_neighbors = 10\nbasis = pca\n[test_beta]\nlevel = 2\n",
      "run.ini");
  EXPECT_NO_THROW(check_stage_keys(config, {"run"}));
}

TEST_F(StageRegistry, CheckStageKeysRejectsAnUnknownKey) {
  const Config config = Config::from_string("[test_alpha]\nn_neighbors = 10\nn_neigbors = 15\n", "run.ini");
  EXPECT_EQ(error_of([&] { check_stage_keys(config, {"run"}); }),
            "run.ini: [test_alpha] n_neigbors: unknown key (stage 'test_alpha' takes: n_neighbors, scale, flag, off, "
            "basis, method)");

  // From the command line the message names the flag.
  Config cli = Config::from_string("[test_beta]\nlevel = 2\n", "run.ini");
  cli.set_dotted("test_beta.levle", "3");
  EXPECT_EQ(error_of([&] { check_stage_keys(cli, {"run"}); }),
            "--test_beta.levle: unknown key (stage 'test_beta' takes: level)");
}

TEST_F(StageRegistry, CheckStageKeysRejectsAnUnknownSection) {
  const Config config = Config::from_string("[run]\ninput = x\n[test_alpah]\nn_neighbors = 10\n", "run.ini");
  const std::string message = error_of([&] { check_stage_keys(config, {"run", "simulate"}); });
  EXPECT_EQ(message.rfind("run.ini: [test_alpah]: unknown section (known: ", 0), 0u) << message;
  EXPECT_NE(message.find("test_alpha, test_beta, test_throws"), std::string::npos) << message;
  // Free sections are listed last, after the registered stages.
  const std::string tail = ", run, simulate)";
  ASSERT_GE(message.size(), tail.size());
  EXPECT_EQ(message.substr(message.size() - tail.size()), tail) << message;
}

TEST_F(StageRegistry, PlanFromConfig) {
  const Config config = Config::from_string(
      "[run]\ninput = data/in.h5ad\noutput = /abs/out.h5ad\nstages = test_beta, test_alpha\n", "/cfg/run.ini");
  const PipelinePlan plan = plan_from_config(config);
  EXPECT_EQ(plan.input, "/cfg/data/in.h5ad");
  EXPECT_EQ(plan.output, "/abs/out.h5ad");
  EXPECT_EQ(plan.stages, (Strings{"test_beta", "test_alpha"}));
  EXPECT_EQ(plan.count_layers, (Strings{"spliced", "unspliced"}));
  EXPECT_TRUE(plan.simulate_if_missing);

  const Config custom = Config::from_string(
      "[run]\ninput = in.h5ad\ncount_layers = X\nsimulate_if_missing = off\n", "run.ini");
  const PipelinePlan p2 = plan_from_config(custom);
  EXPECT_EQ(p2.input, "in.h5ad");
  EXPECT_EQ(p2.output, "");
  EXPECT_TRUE(p2.stages.empty());
  EXPECT_EQ(p2.count_layers, (Strings{"X"}));
  EXPECT_FALSE(p2.simulate_if_missing);

  EXPECT_TRUE(p2.checkpoint);
  EXPECT_EQ(p2.checkpoint_interval, 60.0);
  EXPECT_EQ(plan_from_config(Config::from_string("[run]\ninput = x\ncheckpoint_interval = 0\n", "run.ini")).checkpoint_interval, 0.0);
  const Strings names{"input", "output", "stages", "count_layers", "simulate_if_missing", "checkpoint", "checkpoint_interval"};
  ASSERT_EQ(run_section_keys().size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(run_section_keys()[i].first, names[i]);
}

TEST_F(StageRegistry, PlanFromConfigErrors) {
  EXPECT_EQ(error_of([] { plan_from_config(Config::from_string("[run]\ninput = x\nstagez = test_alpha\n", "run.ini")); }),
            "run.ini: [run] stagez: unknown key ([run] takes: input, output, stages, count_layers, simulate_if_missing, checkpoint, checkpoint_interval)");
  EXPECT_EQ(error_of([] { plan_from_config(Config::from_string("[run]\ninput = x\ncheckpoint_interval = -1\n", "run.ini")); }),
            "run.ini: [run] checkpoint_interval: must be a number of seconds >= 0");
  EXPECT_EQ(error_of([] { plan_from_config(Config::from_string("[run]\nstages = test_alpha\n", "run.ini")); }),
            "run.ini: [run] input: no input file given");

  const std::string unknown = error_of(
      [] { plan_from_config(Config::from_string("[run]\ninput = x\nstages = test_alpha, test_gamma\n", "run.ini")); });
  EXPECT_EQ(unknown.rfind("run.ini: [run] stages: unknown stage 'test_gamma' (known: ", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("test_alpha, test_beta, test_throws"), std::string::npos) << unknown;

  Config cli = Config::from_string("[run]\ninput = x\n", "run.ini");
  cli.set_dotted("run.stages", "test_beta,nope");
  const std::string from_cli = error_of([&] { plan_from_config(cli); });
  EXPECT_EQ(from_cli.rfind("--run.stages: unknown stage 'nope' (known: ", 0), 0u) << from_cli;
}

TEST_F(StageRegistry, RunStagesRunsInOrderAndTimesEachStage) {
  Dataset d = Dataset::create(MPI_COMM_SELF, 10, 4);
  Config config = Config::from_string("[test_alpha]\nn_neighbors = 12\n[test_beta]\nlevel = 7\n", "run.ini");
  config.set_dotted("test_alpha.method", "velovi");
  run_stages(d, config, {"test_beta", "test_alpha", "test_beta"});

  EXPECT_EQ(calls(), (Strings{"test_beta level=7 cells=10", "test_alpha n_neighbors=12 method=velovi",
                              "test_beta level=7 cells=10"}));
  EXPECT_EQ(d.uns.at("ran_alpha").text, "yes");   // the stage got the caller's dataset

  const auto& records = Timings::get().records();
  ASSERT_EQ(records.size(), 3u);
  const Strings expected{"test_beta", "test_alpha", "test_beta"};
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].stage, expected[i]);
    EXPECT_EQ(records[i].cells, 10);
    EXPECT_EQ(records[i].genes, 4);
    EXPECT_EQ(records[i].ranks, 1);
    ASSERT_EQ(records[i].peak_rss_bytes.size(), 1u);
    EXPECT_GT(records[i].peak_rss_bytes[0], 0);
    EXPECT_GE(records[i].wall_seconds, 0.0);
    EXPECT_LT(records[i].wall_seconds, 60.0);
  }
}

TEST_F(StageRegistry, ALabelledEntryRunsTheStageAgainWithItsOwnSection) {
  // dynamo's tutorial fits the vector field twice (pca, then umap): `NAME:LABEL` runs stage NAME
  // with section [NAME:LABEL], and nothing of [NAME] leaks into it.
  Dataset d = Dataset::create(MPI_COMM_SELF, 10, 4);
  Config config = Config::from_string("[test_alpha]\nn_neighbors = 12\n[test_alpha:second]\nmethod = velovi\n", "run.ini");
  config.set_dotted("test_alpha:second.n_neighbors", "5");
  check_stage_keys(config, {"run"});
  ASSERT_NE(find_stage("test_alpha:second"), nullptr);
  EXPECT_EQ(find_stage("test_alpha:second")->name, "test_alpha");
  EXPECT_EQ(find_stage("test_alpha:"), nullptr);
  EXPECT_EQ(find_stage(":second"), nullptr);
  EXPECT_EQ(find_stage("test_gamma:second"), nullptr);
  run_stages(d, config, {"test_alpha", "test_alpha:second"});
  EXPECT_EQ(calls(), (Strings{"test_alpha n_neighbors=12 method=stochastic", "test_alpha n_neighbors=5 method=velovi"}));
  const auto& records = Timings::get().records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].stage, "test_alpha:second");   // timed and checkpointed as its own entry

  const Config misspelt = Config::from_string("[test_alpha:second]\nmetod = x\n", "run.ini");
  const std::string message = error_of([&] { check_stage_keys(misspelt, {"run"}); });
  EXPECT_EQ(message.rfind("run.ini: [test_alpha:second] metod: unknown key (stage 'test_alpha:second' takes: ", 0), 0u) << message;
}

TEST_F(StageRegistry, RunStagesStopsAtAFailingOrUnknownStage) {
  Dataset d = Dataset::create(MPI_COMM_SELF, 3, 2);
  const Config config;
  EXPECT_EQ(error_of([&] { run_stages(d, config, {"test_beta", "test_throws", "test_alpha"}); }),
            "test_throws: deliberate failure");
  EXPECT_EQ(calls(), (Strings{"test_beta level=1 cells=3", "test_throws"}));
  ASSERT_EQ(Timings::get().records().size(), 1u);   // only the stage that finished is recorded
  EXPECT_EQ(Timings::get().records()[0].stage, "test_beta");

  calls().clear();
  EXPECT_EQ(error_of([&] { run_stages(d, config, {"test_beta", "test_gamma"}); }), "unknown stage 'test_gamma'");
  EXPECT_EQ(calls(), (Strings{"test_beta level=1 cells=3"}));
  calls().clear();
  EXPECT_NO_THROW(run_stages(d, config, {}));
  EXPECT_TRUE(calls().empty());
}

TEST(StageSelection, FromUntilOnly) {
  const Strings all{"preprocess", "moments", "dynamics", "cell-velocities"};
  EXPECT_EQ(select_stages(all, "", "", ""), all);
  EXPECT_EQ(select_stages(all, "moments", "", ""), (Strings{"moments", "dynamics", "cell-velocities"}));
  EXPECT_EQ(select_stages(all, "", "moments", ""), (Strings{"preprocess", "moments"}));
  EXPECT_EQ(select_stages(all, "moments", "dynamics", ""), (Strings{"moments", "dynamics"}));
  EXPECT_EQ(select_stages(all, "dynamics", "dynamics", ""), (Strings{"dynamics"}));
  EXPECT_EQ(select_stages(all, "", "", "dynamics"), (Strings{"dynamics"}));
  EXPECT_TRUE(select_stages({}, "", "", "").empty());
  EXPECT_EQ(error_of([&] { select_stages(all, "dynamics", "moments", ""); }), "--until moments comes before --from dynamics");
  EXPECT_EQ(error_of([&] { select_stages(all, "umap", "", ""); }),
            "--from umap: not among the configured stages (preprocess, moments, dynamics, cell-velocities)");
  EXPECT_EQ(error_of([&] { select_stages(all, "moments", "", "dynamics"); }), "--only cannot be combined with --from or --until");
}

TEST(StageSelection, CheckpointPath) {
  EXPECT_EQ(checkpoint_path("out/pancreas.h5ad"), "out/pancreas.checkpoint.h5ad");
  EXPECT_EQ(checkpoint_path("result"), "result.checkpoint.h5ad");
}
