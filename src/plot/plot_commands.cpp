#include "plot/plot_commands.hpp"

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace velofield::plot {

namespace {

std::vector<StageKey> figure_keys() {
  return {
      {"basis", "umap", "embedding: obsm X_<basis> (for <name>_perturbation, X_<name> when X_<name>_perturbation is absent)"},
      {"components", "1,2", "the two columns of X_<basis> to plot (1-based, as scanpy's components)"},
      {"color", "", "obs column colouring the cells: categorical → legend, numeric → colour bar (divergence_umap, "
                    "latent_time, ...); empty: grey"},
      {"color_key", "", "category colours: '#rrggbb,...' in category order, or 'name=#rrggbb,...' for some; the others "
                        "from uns <color>_colors (scanpy's), else Tableau 20"},
      {"show_legend", "on_data", "category legend: on_data (labels at the cluster medians), right, or none"},
      {"cmap", "viridis", "colour map of numeric values: viridis, inferno, or coolwarm (diverging: centred on 0 for signed values)"},
      {"vmin", "", "lower end of the colour bar; none: the smallest value"},
      {"vmax", "", "upper end of the colour bar; none: the largest value"},
      {"width", "6.4", "figure width, inches"},
      {"height", "5", "figure height, inches"},
      {"dpi", "150", "PNG resolution, dots per inch (.svg/.pdf are vector)"},
      {"pointsize", "0", "cell dot diameter, pt; 0: from the number of cells and the plot area"},
      {"alpha", "1", "cell dot opacity, 0-1"},
      {"title", "", "figure title; none given: the colour key; 'none': no title"},
      {"font_size", "9", "font size of labels and legends, pt (the title is 1.25×)"},
      {"rasterize", "auto", "cells as an embedded bitmap in .svg/.pdf: auto (above 20000 cells), always, never"},
  };
}

std::vector<StageKey> streamline_keys() {
  return {
      {"velocity_key", "", "obsm embedding velocity for --field cells; none given: velocity_<basis>"},
      {"field", "auto", "grid velocity of the streamlines: vecfld (uns VecFld_<basis>), grid (uns grid_velocity_<basis>), "
                        "cells (velocity_key smoothed onto a grid), or auto"},
      {"xy_grid_nums", "50", "grid points per axis when the field is computed (cells) or evaluated (vecfld)"},
      {"min_cells", "1", "close grid nodes with fewer cells around them (0: streamlines everywhere)"},
      {"density", "1", "streamline density: lines about (shorter plot side) / (30 × density) apart"},
      {"linewidth", "1.5", "streamline width at the fastest flow, pt (a quarter of it at the slowest)"},
      {"arrowsize", "1", "arrowhead scale"},
      {"streamline_color", "#222222", "streamline colour"},
      {"integrator", "rk4", "streamline integration: rk4 or rk2"},
      {"min_speed", "0.02", "streamlines stop below this fraction of the field's largest speed"},
  };
}

std::vector<StageKey> join(std::vector<StageKey> a, const std::vector<StageKey>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

[[noreturn]] void bad(const StageConfig& c, const std::string& key, const std::string& problem) {
  throw Error(c.config().where(c.section(), key) + ": " + problem);
}

double positive(const StageConfig& c, const std::string& key) {
  const double v = c.get_double(key);
  if (!(v > 0) || !std::isfinite(v)) bad(c, key, "expected a positive number");
  return v;
}

std::optional<double> optional_number(const StageConfig& c, const std::string& key) {
  if (trim(c.get_string(key)).empty()) return std::nullopt;
  const double v = c.get_double(key);
  if (!std::isfinite(v)) bad(c, key, "expected a finite number");
  return v;
}

}  // namespace

const std::vector<PlotCommandSpec>& plot_commands() {
  static const std::vector<PlotCommandSpec> specs = {
      {"streamline-plot", "cells in an embedding with evenly spaced streamlines of the grid velocity (dyn.pl.streamline_plot)",
       PlotKind::streamline, join(figure_keys(), streamline_keys())},
      {"topography-plot", "streamlines of the vector field with its fixed points, nullclines and separatrices (dyn.pl.topography)",
       PlotKind::topography, join(figure_keys(), streamline_keys())},
      {"scatter-plot", "cells in an embedding coloured by an obs column, with a legend or colour bar (dyn.pl.scatters)",
       PlotKind::scatter, figure_keys()},
  };
  return specs;
}

const PlotCommandSpec* find_plot_command(const std::string& name) {
  for (const auto& s : plot_commands())
    if (s.name == name) return &s;
  return nullptr;
}

EmbeddingPlotRequest plot_request(const PlotCommandSpec& spec, const StageConfig& c) {
  EmbeddingPlotRequest r;
  r.kind = spec.kind;
  r.basis = trim(c.get_string("basis"));
  if (r.basis.empty()) bad(c, "basis", "expected an embedding name (umap, pca, umap_perturbation, ...)");
  const std::vector<std::string> comps = split_list(c.get_string("components"));
  if (comps.size() != 2) bad(c, "components", "expected two 1-based column numbers, e.g. 1,2");
  for (size_t k = 0; k < 2; ++k) {
    char* end = nullptr;
    const long long v = std::strtoll(comps[k].c_str(), &end, 10);
    if (!end || *end != 0 || v < 1) bad(c, "components", "expected two 1-based column numbers, found '" + c.get_string("components") + "'");
    r.components[k] = v - 1;
  }
  r.color = trim(c.get_string("color"));
  r.color_key = c.get_string("color_key");
  const std::string legend = trim(c.get_string("show_legend"));
  if (legend == "on_data" || legend == "on data") r.figure.legend = LegendPlacement::on_data;
  else if (legend == "right") r.figure.legend = LegendPlacement::right;
  else if (legend == "none") r.figure.legend = LegendPlacement::none;
  else bad(c, "show_legend", "expected on_data, right or none, found '" + legend + "'");
  try {
    r.figure.color_map = color_map_named(trim(c.get_string("cmap")));
  } catch (const Error& e) {
    bad(c, "cmap", e.what());
  }
  r.figure.vmin = optional_number(c, "vmin");
  r.figure.vmax = optional_number(c, "vmax");
  if (r.figure.vmin && r.figure.vmax && !(*r.figure.vmax > *r.figure.vmin)) bad(c, "vmax", "must be larger than vmin");
  r.figure.width_pt = 72 * positive(c, "width");
  r.figure.height_pt = 72 * positive(c, "height");
  r.figure.dpi = positive(c, "dpi");
  if (r.figure.width_pt * r.figure.dpi / 72 > 20000 || r.figure.height_pt * r.figure.dpi / 72 > 20000)
    bad(c, "dpi", "the PNG would be more than 20000 pixels wide or high");
  r.figure.point_size = c.get_double("pointsize");
  if (!(r.figure.point_size >= 0)) bad(c, "pointsize", "expected 0 (automatic) or a positive diameter in pt");
  r.figure.alpha = c.get_double("alpha");
  if (!(r.figure.alpha > 0 && r.figure.alpha <= 1)) bad(c, "alpha", "expected a number in (0, 1]");
  const std::string title = c.get_string("title");
  if (title == "none") r.title = std::string();
  else if (!title.empty()) r.title = title;
  r.figure.font_size = positive(c, "font_size");
  const std::string rasterize = trim(c.get_string("rasterize"));
  if (rasterize == "auto") r.figure.rasterize = Rasterize::automatic;
  else if (rasterize == "always") r.figure.rasterize = Rasterize::always;
  else if (rasterize == "never") r.figure.rasterize = Rasterize::never;
  else bad(c, "rasterize", "expected auto, always or never, found '" + rasterize + "'");
  if (spec.kind == PlotKind::scatter) return r;

  r.velocity_key = trim(c.get_string("velocity_key"));
  const std::string field = trim(c.get_string("field"));
  if (field == "auto") r.field = FieldSource::automatic;
  else if (field == "vecfld") r.field = FieldSource::vecfld;
  else if (field == "grid") r.field = FieldSource::grid;
  else if (field == "cells") r.field = FieldSource::cells;
  else bad(c, "field", "expected auto, vecfld, grid or cells, found '" + field + "'");
  r.xy_grid_nums = c.get_int("xy_grid_nums");
  if (r.xy_grid_nums < 3 || r.xy_grid_nums > 2000) bad(c, "xy_grid_nums", "expected 3 to 2000 points per axis");
  r.min_cells = c.get_double("min_cells");
  if (!(r.min_cells >= 0)) bad(c, "min_cells", "expected a number >= 0");
  r.figure.density = positive(c, "density");
  if (r.figure.density > 20) bad(c, "density", "expected at most 20");
  r.figure.line_width = positive(c, "linewidth");
  r.figure.arrow_size = c.get_double("arrowsize");
  if (!(r.figure.arrow_size >= 0)) bad(c, "arrowsize", "expected a number >= 0 (0: no arrowheads)");
  try {
    r.figure.stream_color = Rgb::hex(trim(c.get_string("streamline_color")));
  } catch (const Error& e) {
    bad(c, "streamline_color", e.what());
  }
  const std::string integrator = trim(c.get_string("integrator"));
  if (integrator == "rk4") r.figure.streamlines.integrator = Integrator::rk4;
  else if (integrator == "rk2") r.figure.streamlines.integrator = Integrator::rk2;
  else bad(c, "integrator", "expected rk4 or rk2, found '" + integrator + "'");
  r.figure.streamlines.min_speed = c.get_double("min_speed");
  if (!(r.figure.streamlines.min_speed >= 0 && r.figure.streamlines.min_speed < 1)) bad(c, "min_speed", "expected a fraction in [0, 1)");
  return r;
}

}  // namespace velofield::plot
