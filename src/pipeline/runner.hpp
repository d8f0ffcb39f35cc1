#pragma once
// The pipeline runner: read the input, run the configured stages in order (each timed), write
// the output. The order lives here and in the config, never in the stages.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "data/dataset.hpp"

namespace velofield {

struct PipelinePlan {
  std::string input;                         // [run] input
  std::string output;                        // [run] output
  std::vector<std::string> stages;           // [run] stages, in order
  std::vector<std::string> count_layers;     // [run] count_layers: validated as raw counts on read
  bool simulate_if_missing = true;           // [run] simulate_if_missing
};

// Keys of the [run] section, for help and key checking.
const std::vector<std::pair<std::string, std::string>>& run_section_keys();
PipelinePlan plan_from_config(const Config& config);

// Collective. Runs the stages on `dataset` in order, each inside a StageTimer.
void run_stages(Dataset& dataset, const Config& config, const std::vector<std::string>& stage_names);

}  // namespace velofield
