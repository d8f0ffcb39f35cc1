#pragma once
// The embedding figure of dynamo's and scanpy's plots: cells as dots in two embedding dimensions,
// coloured by a categorical obs (legend on the data — labels at the cluster medians with a white
// halo — or beside it) or by a value (continuous colour map with a colour bar); optionally evenly
// spaced streamlines with arrowheads through a grid velocity, and the topography of a vector field
// (fixed points by type, nullclines, separatrices). Plain data in, one file out (.png/.svg/.pdf);
// no MPI: the caller gathers the cells on one rank.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plot/canvas.hpp"
#include "plot/color_map.hpp"
#include "plot/streamlines.hpp"

namespace velofield::plot {

struct CategoryColoring {
  std::string key;
  std::vector<std::string> names;
  std::vector<Rgb> colors;       // one per name
  std::vector<int32_t> codes;    // one per cell; -1 = missing (drawn light grey, underneath)
};

struct ValueColoring {
  std::string key;
  std::vector<double> values;    // one per cell; NaN drawn light grey, underneath
};

// dynamo's topography (uns VecFld_<basis>: Xss, ftype, NCx, NCy, separatrices, xlim, ylim).
struct Topography {
  std::vector<double> fixed_points;                 // n × 2
  std::vector<int> types;                           // -1 stable, 0 saddle, +1 unstable
  std::vector<std::vector<double>> x_nullclines;    // curves, each points × 2 (f_x = 0)
  std::vector<std::vector<double>> y_nullclines;    // f_y = 0
  std::vector<std::vector<double>> separatrices;
  std::optional<std::array<double, 2>> xlim, ylim;  // the domain the topography was searched in
};

struct EmbeddingFigure {
  std::vector<double> xy;   // cells × 2, data coordinates
  std::string x_label, y_label;
  std::optional<CategoryColoring> categories;
  std::optional<ValueColoring> values;
  std::optional<GridField> field;         // streamlines when present
  std::optional<Topography> topography;
};

enum class LegendPlacement { on_data, right, none };
enum class Rasterize { automatic, always, never };

struct FigureOptions {
  double width_pt = 460.8, height_pt = 360, dpi = 150;   // 6.4 × 5 inches
  double point_size = 0;        // dot diameter in pt; 0: from the number of cells and the plot area
  double alpha = 1;             // dot opacity
  std::string title;
  double font_size = 9;         // pt; titles and labels scale from it
  LegendPlacement legend = LegendPlacement::on_data;
  ColorMap color_map = ColorMap::viridis;
  std::optional<double> vmin, vmax;   // colour range of values (default: their finite range; ±max |v| for coolwarm)
  double density = 1;           // streamlines: separation = shorter plot side / (30 × density)
  double line_width = 1.5;      // streamline width (pt) at the fastest flow, down to a quarter of it
  double arrow_size = 1;        // arrowhead scale
  Rgb stream_color{0.13, 0.13, 0.13};
  StreamlineOptions streamlines;      // separation is overwritten from density
  // Dots as an embedded bitmap in .svg/.pdf (matplotlib's rasterized=True): automatic above
  // 20000 cells, where one vector circle per cell makes files of tens of MB.
  Rasterize rasterize = Rasterize::automatic;
};

struct LegendEntry {
  std::string label;
  Rgb color;
  int64_t cells = 0;                 // categories: cells of the category
  double x = 0, y = 0, w = 0, h = 0; // the label's box on the figure, pt from the top left
};

struct FigureReport {
  int64_t width_px = 0, height_px = 0;                 // the canvas at `dpi` (the PNG's size)
  double plot_x0 = 0, plot_y0 = 0, plot_x1 = 0, plot_y1 = 0;   // the plot area, pt from the top left
  std::vector<LegendEntry> legend;                     // categories, in category order
  std::vector<LegendEntry> key;                        // topography symbols
  int64_t streamlines = 0, arrows = 0;
  double streamline_length_pt = 0;
  std::optional<std::array<double, 2>> color_range;    // values: the colour bar's range
  double point_size = 0;                               // the dot diameter used, pt
  bool cells_rasterized = false;
};

// The data window: the finite cells' extent padded by 3% per side, joined with the topography's
// domain: {x0, x1, y0, y1}. Throws velofield::Error when no cell has finite coordinates.
std::array<double, 4> figure_extent(const EmbeddingFigure& figure);

// Writes `path`; throws velofield::Error on a bad path or an empty figure (no cells).
FigureReport draw_embedding_figure(const std::string& path, const EmbeddingFigure& figure, const FigureOptions& options);

}  // namespace velofield::plot
