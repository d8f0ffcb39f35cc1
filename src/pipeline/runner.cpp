#include "pipeline/runner.hpp"

#include <cstdio>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "pipeline/fault_injection.hpp"
#include "pipeline/slot_diff.hpp"
#include "pipeline/stage.hpp"

namespace velofield {

const std::vector<std::pair<std::string, std::string>>& run_section_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys{
      {"input", "the input .h5ad (spliced/unspliced counts)"},
      {"output", "the output .h5ad"},
      {"stages", "stages to run, in order (comma-separated)"},
      {"count_layers", "layers that must hold raw counts (default: spliced, unspliced)"},
      {"simulate_if_missing", "simulate a dataset ([simulate] section) when the input file does not exist (default true)"},
      {"checkpoint", "write OUTPUT.checkpoint.h5ad between stages, for --resume (default true)"},
      {"checkpoint_interval", "seconds of work between two checkpoints; a stop signal always writes one (default 60; 0: after every stage)"},
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
  plan.checkpoint = config.get_bool("run", "checkpoint", true);
  plan.checkpoint_interval = config.get_double("run", "checkpoint_interval", 60);
  if (!(plan.checkpoint_interval >= 0)) throw Error(config.where("run", "checkpoint_interval") + ": must be a number of seconds >= 0");
  if (plan.input.empty()) throw Error(config.where("run", "input") + ": no input file given");
  for (const auto& s : plan.stages)
    if (!find_stage(s)) {
      std::string known;
      for (const auto& st : stages()) known += (known.empty() ? "" : ", ") + st.name;
      throw Error(config.where("run", "stages") + ": unknown stage '" + s + "' (known: " + (known.empty() ? "none yet" : known) + ")");
    }
  return plan;
}

std::vector<std::string> select_stages(const std::vector<std::string>& configured, const std::string& from,
                                       const std::string& until, const std::string& only) {
  auto position = [&](const std::string& name, const char* option) {
    for (size_t i = 0; i < configured.size(); ++i)
      if (configured[i] == name) return i;
    std::string list;
    for (const auto& s : configured) list += (list.empty() ? "" : ", ") + s;
    throw Error(std::string("--") + option + " " + name + ": not among the configured stages (" + (list.empty() ? "none" : list) + ")");
  };
  if (!only.empty()) {
    if (!from.empty() || !until.empty()) throw Error("--only cannot be combined with --from or --until");
    return {configured[position(only, "only")]};
  }
  const size_t first = from.empty() ? 0 : position(from, "from");
  const size_t last = until.empty() ? configured.size() : position(until, "until") + 1;
  if (!from.empty() && !until.empty() && last <= first) throw Error("--until " + until + " comes before --from " + from);
  return std::vector<std::string>(configured.begin() + static_cast<long>(first), configured.begin() + static_cast<long>(last));
}

std::string checkpoint_path(const std::string& output) {
  const std::string ext = ".h5ad";
  std::string stem = output;
  if (stem.size() > ext.size() && stem.compare(stem.size() - ext.size(), ext.size(), ext) == 0) stem.resize(stem.size() - ext.size());
  return stem + ".checkpoint.h5ad";
}

void run_stages(Dataset& dataset, const Config& config, const std::vector<std::string>& stage_names, const AfterStage& after) {
  for (const auto& name : stage_names) {
    const Stage* stage = find_stage(name);
    if (!stage) throw Error("unknown stage '" + name + "'");
    StageConfig sc(config, name, stage->keys);
    const SlotSnapshot before = snapshot(dataset);
    StageTimer timer(dataset.comm, name);
    inject_fault(dataset.comm, name, FaultPoint::before);
    stage->run(dataset, sc);
    inject_fault(dataset.comm, name, FaultPoint::after);
    const StageRecord record = timer.stop(dataset.n_obs, dataset.n_vars);
    const std::string changes = describe_changes(before, snapshot(dataset), name);
    int rank = 0;
    MPI_Comm_rank(dataset.comm, &rank);
    if (rank == 0 && !changes.empty() && log().level() != LogLevel::quiet) std::fputs(changes.c_str(), stdout);
    if (after) after(name, record);
  }
}

}  // namespace velofield
