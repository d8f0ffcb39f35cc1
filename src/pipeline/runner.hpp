#pragma once
// The pipeline runner: read the input, run the configured stages in order (each timed), write
// the output. The order lives here and in the config, never in the stages.
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/timers.hpp"
#include "data/dataset.hpp"

namespace velofield {

// Thrown by a stage hook to stop the pipeline after a completed stage (a signal arrived).
struct StopRequested {
  int signal = 0;
  std::string after_stage;
};

struct PipelinePlan {
  std::string input;                         // [run] input
  std::string output;                        // [run] output
  std::vector<std::string> stages;           // [run] stages, in order
  std::vector<std::string> count_layers;     // [run] count_layers: validated as raw counts on read
  bool simulate_if_missing = true;           // [run] simulate_if_missing
  bool checkpoint = true;                    // [run] checkpoint: write NAME.checkpoint.h5ad between stages
  double checkpoint_interval = 60;           // [run] checkpoint_interval: seconds of work between checkpoints (0: after every stage)
};

// --from / --until / --only: a contiguous part of the configured stages. Throws on names that
// are not among them.
std::vector<std::string> select_stages(const std::vector<std::string>& configured, const std::string& from,
                                       const std::string& until, const std::string& only);
// Where the checkpoint of `output` goes: out/x.h5ad → out/x.checkpoint.h5ad.
std::string checkpoint_path(const std::string& output);

// Keys of the [run] section, for help and key checking.
const std::vector<std::pair<std::string, std::string>>& run_section_keys();
PipelinePlan plan_from_config(const Config& config);

// Called after each completed stage (collective): checkpointing, interrupt checks.
using AfterStage = std::function<void(const std::string& stage, const StageRecord& timing)>;

// Collective. Runs the stages on `dataset` in order, each inside a StageTimer, prints what each
// added, and calls `after` once a stage is done.
void run_stages(Dataset& dataset, const Config& config, const std::vector<std::string>& stage_names,
                const AfterStage& after = {});

}  // namespace velofield
