#include "pipeline/runner.hpp"

#include "core/error.hpp"
#include "core/timers.hpp"
#include "pipeline/stage.hpp"

namespace velofield {

const std::vector<std::pair<std::string, std::string>>& run_section_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys{
      {"input", "the input .h5ad (spliced/unspliced counts)"},
      {"output", "the output .h5ad"},
      {"stages", "stages to run, in order (comma-separated)"},
      {"count_layers", "layers that must hold raw counts (default: spliced, unspliced)"},
      {"simulate_if_missing", "simulate a dataset ([simulate] section) when the input file does not exist (default true)"},
  };
  return keys;
}

PipelinePlan plan_from_config(const Config& config) {
  for (const auto& kv : config.section("run")) {
    bool known = false;
    std::string names;
    for (const auto& k : run_section_keys()) {
      known = known || k.first == kv.first;
      names += (names.empty() ? "" : ", ") + k.first;
    }
    if (!known) throw Error(config.where("run", kv.first) + ": unknown key ([run] takes: " + names + ")");
  }
  PipelinePlan plan;
  plan.input = config.get_path("run", "input", "");
  plan.output = config.get_path("run", "output", "");
  plan.stages = config.get_list("run", "stages");
  plan.count_layers = config.has("run", "count_layers") ? config.get_list("run", "count_layers")
                                                        : std::vector<std::string>{"spliced", "unspliced"};
  plan.simulate_if_missing = config.get_bool("run", "simulate_if_missing", true);
  if (plan.input.empty()) throw Error(config.where("run", "input") + ": no input file given");
  for (const auto& s : plan.stages)
    if (!find_stage(s)) {
      std::string known;
      for (const auto& st : stages()) known += (known.empty() ? "" : ", ") + st.name;
      throw Error(config.where("run", "stages") + ": unknown stage '" + s + "' (known: " + (known.empty() ? "none yet" : known) + ")");
    }
  return plan;
}

void run_stages(Dataset& dataset, const Config& config, const std::vector<std::string>& stage_names) {
  for (const auto& name : stage_names) {
    const Stage* stage = find_stage(name);
    if (!stage) throw Error("unknown stage '" + name + "'");
    StageConfig sc(config, name, stage->keys);
    StageTimer timer(dataset.comm, name);
    stage->run(dataset, sc);
    timer.stop(dataset.n_obs, dataset.n_vars);
  }
}

}  // namespace velofield
