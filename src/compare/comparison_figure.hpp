#pragma once
// The figure of `compare-velocity`: the per-cell agreement coloured on the embedding, then one
// streamline panel per method (and the consensus), each drawn by the plot module
// (plot_embedding) into its own PNG and laid out on one canvas in a grid.
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct ComparisonPanel {
  std::string velocity_key;   // obsm embedding velocity (streamlines)
  std::string title;
};

struct ComparisonFigureOptions {
  std::string basis = "umap";
  std::string agreement_key = "velocity_agreement";   // obs column
  std::string color;                                  // obs column of the streamline panels ("" = grey)
  std::string color_key;                              // category colours, as the plot commands take them
  int columns = 3;
};

// Collective. Writes `path` (PNG); the panel files are temporary. Throws velofield::Error (all ranks)
// on a missing slot or an unwritable path.
void draw_comparison_figure(const Dataset& d, const std::vector<ComparisonPanel>& panels, const ComparisonFigureOptions& options,
                            const std::string& path);

}  // namespace velofield
