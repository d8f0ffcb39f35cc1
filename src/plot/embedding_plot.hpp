#pragma once
// The embedding plots of a Dataset (dyn.pl.scatters, dyn.pl.streamline_plot, dyn.pl.topography):
// checks the request against the file, gathers the cells' 2-D coordinates and colours to rank 0
// (cells × 3 doubles; nothing cells × cells), builds the grid velocity for the streamlines, and draws
// on rank 0.
//
// The streamlines' grid velocity comes from (field = auto, in this order of preference):
//   vecfld  uns VecFld_<basis>: the fitted SparseVFC field (X_ctrl, C, beta) evaluated on an
//           xy_grid_nums² grid over the figure, or its stored grid / grid_V (topography-plot only
//           under auto: dynamo's topography plot draws the fitted field);
//   grid    uns grid_velocity_<basis> {X_grid (2, n), V_grid (2, n, n)} as cell-velocities writes it;
//   cells   obsm velocity_<basis> smoothed onto an xy_grid_nums² grid by the transition stage's
//           grid_velocity() (dynamo's streamline_plot 'gaussian' method).
// Grid nodes with fewer than min_cells cells around them (their grid square and the eight next to
// it) are closed, so lines stop where there are no cells instead of wandering through empty space.
#include <optional>
#include <string>

#include "data/dataset.hpp"
#include "plot/embedding_figure.hpp"

namespace velofield::plot {

enum class PlotKind { scatter, streamline, topography };
enum class FieldSource { automatic, vecfld, grid, cells };

struct EmbeddingPlotRequest {
  PlotKind kind = PlotKind::streamline;
  std::string basis = "umap";              // obsm X_<basis>; X_<stem> for <stem>_perturbation when absent
  std::array<int64_t, 2> components{0, 1}; // 0-based columns of X_<basis>
  std::string color;                       // obs column: categorical → legend, numeric → colour bar; "" = none
  // Category colours: "#rrggbb,..." in category order, or "name=#rrggbb,..." for some; the others from
  // uns <color>_colors (scanpy's), else the Tableau-20 palette.
  std::string color_key;
  std::string velocity_key;                // obsm key; "" = velocity_<basis>
  FieldSource field = FieldSource::automatic;
  int64_t xy_grid_nums = 50;
  double min_cells = 1;
  std::optional<std::string> title;        // nullopt = the colour key
  FigureOptions figure;
};

// Collective. Every input problem throws the same velofield::Error ("FILE: KEY: PROBLEM") on every
// rank. Returns the drawing's report on rank 0 (a default report elsewhere).
FigureReport plot_embedding(const Dataset& dataset, const EmbeddingPlotRequest& request, const std::string& path);

}  // namespace velofield::plot
