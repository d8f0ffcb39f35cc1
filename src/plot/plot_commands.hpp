#pragma once
// The plot subcommands (streamline-plot, topography-plot, scatter-plot) as declared keys, like a
// stage's: `velofield <plot> IN.h5ad OUT.png --key value`, --help, and an INI section [<plot>] all
// come from one list, so the pipeline runner can draw the same figures from a config.
#include <string>
#include <vector>

#include "pipeline/stage.hpp"
#include "plot/embedding_plot.hpp"

namespace velofield::plot {

struct PlotCommandSpec {
  std::string name;      // also the INI section
  std::string summary;
  PlotKind kind;
  std::vector<StageKey> keys;   // dynamo's parameter names where there is one (basis, color, pointsize, density)
};

const std::vector<PlotCommandSpec>& plot_commands();
// nullptr when `name` is not a plot.
const PlotCommandSpec* find_plot_command(const std::string& name);

// The request from the section's keys; a bad value throws velofield::Error naming the key.
EmbeddingPlotRequest plot_request(const PlotCommandSpec& spec, const StageConfig& config);

}  // namespace velofield::plot
