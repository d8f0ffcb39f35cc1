#include "compare/comparison_figure.hpp"

#include <cairo.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "plot/canvas.hpp"
#include "plot/embedding_plot.hpp"

namespace velofield {

namespace {

plot::EmbeddingPlotRequest panel_request(const ComparisonFigureOptions& o) {
  plot::EmbeddingPlotRequest r;
  r.basis = o.basis;
  r.figure.width_pt = 4.8 * 72;
  r.figure.height_pt = 3.9 * 72;
  r.figure.dpi = 110;
  r.figure.font_size = 8;
  return r;
}

}  // namespace

void draw_comparison_figure(const Dataset& d, const std::vector<ComparisonPanel>& panels, const ComparisonFigureOptions& o,
                            const std::string& path) {
  std::vector<std::string> files;
  {
    plot::EmbeddingPlotRequest r = panel_request(o);
    r.kind = plot::PlotKind::scatter;
    r.color = o.agreement_key;
    r.figure.color_map = plot::ColorMap::coolwarm;
    r.figure.vmin = -1;
    r.figure.vmax = 1;
    r.title = "agreement (PCA-space cosine)";
    files.push_back(path + ".panel0.png");
    plot::plot_embedding(d, r, files.back());
  }
  for (size_t k = 0; k < panels.size(); ++k) {
    plot::EmbeddingPlotRequest r = panel_request(o);
    r.kind = plot::PlotKind::streamline;
    r.velocity_key = panels[k].velocity_key;
    r.field = plot::FieldSource::cells;
    r.color = o.color;
    r.color_key = o.color_key;
    r.figure.legend = plot::LegendPlacement::none;
    r.title = panels[k].title;
    files.push_back(path + ".panel" + std::to_string(k + 1) + ".png");
    plot::plot_embedding(d, r, files.back());
  }
  // Rank 0 lays the panels out; every rank learns the outcome.
  std::string problem;
  if (d.rank() == 0) {
    try {
      std::vector<cairo_surface_t*> images;
      double w = 0, h = 0;
      for (const auto& f : files) {
        cairo_surface_t* s = cairo_image_surface_create_from_png(f.c_str());
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
          for (auto* i : images) cairo_surface_destroy(i);
          cairo_surface_destroy(s);
          throw Error(describe(f, "", "cannot read back the panel"));
        }
        w = std::max(w, static_cast<double>(cairo_image_surface_get_width(s)));
        h = std::max(h, static_cast<double>(cairo_image_surface_get_height(s)));
        images.push_back(s);
      }
      const int columns = std::max(1, std::min<int>(o.columns, static_cast<int>(images.size())));
      const int rows = (static_cast<int>(images.size()) + columns - 1) / columns;
      // The canvas in pixels at 72 dpi: one point per panel pixel, so the panels are not resampled.
      plot::Canvas canvas(path, w * columns, h * rows, 72);
      cairo_t* cr = canvas.cr();
      canvas.set_color({1, 1, 1});
      cairo_paint(cr);
      for (size_t k = 0; k < images.size(); ++k) {
        cairo_set_source_surface(cr, images[k], static_cast<double>(static_cast<int>(k) % columns) * w,
                                 static_cast<double>(static_cast<int>(k) / columns) * h);
        cairo_paint(cr);
      }
      canvas.finish();
      for (auto* i : images) cairo_surface_destroy(i);
    } catch (const std::exception& e) {
      problem = e.what();
    }
    for (const auto& f : files) std::remove(f.c_str());
  }
  agree(d.comm, problem.empty(), problem);
}

}  // namespace velofield
