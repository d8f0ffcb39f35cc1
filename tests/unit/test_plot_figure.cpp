// The embedding figure on small synthetic data: labels never overlap, the legend beside the plot
// wraps into columns, fixed points are drawn by type where they are, colour maps, formats.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include <unistd.h>

#include "core/error.hpp"
#include "plot/color_map.hpp"
#include "plot/embedding_figure.hpp"
#include "png_pixels.hpp"
#include "test_support.hpp"

using namespace velofield;
using namespace velofield::plot;
using velofield::test::close_to;
using velofield::test::read_png;

namespace {

// A directory of this process's figures, removed when the tests end.
struct FigureDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("velofield_plot_unit_" + std::to_string(::getpid()));
  FigureDir() { std::filesystem::create_directories(path); }
  ~FigureDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string tmp_path(const std::string& name) {
  static const FigureDir dir;
  return (dir.path / name).string();
}

bool boxes_overlap(const LegendEntry& a, const LegendEntry& b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

// n categories of 20 cells each; all at one point when `stacked`, else on a line.
EmbeddingFigure categories_figure(int n, bool stacked) {
  EmbeddingFigure fig;
  CategoryColoring c;
  c.key = "clusters";
  for (int k = 0; k < n; ++k) {
    c.names.push_back("category number " + std::to_string(k));
    c.colors.push_back(category_color(static_cast<size_t>(k)));
    for (int i = 0; i < 20; ++i) {
      fig.xy.push_back(stacked ? 0.001 * i : k + 0.01 * i);
      fig.xy.push_back(stacked ? 0.0 : std::sin(k));
      c.codes.push_back(k);
    }
  }
  fig.categories = c;
  fig.x_label = "UMAP1";
  fig.y_label = "UMAP2";
  return fig;
}

}  // namespace

TEST(PlotFigure, LabelsOnTheDataNeverOverlap) {
  // Eight clusters with the same median: every label wants the same spot, where a fixed point is.
  EmbeddingFigure fig = categories_figure(8, true);
  Topography t;
  t.fixed_points = {0.0095, 0.0};
  t.types = {-1};
  fig.topography = t;
  FigureOptions o;
  const FigureReport r = draw_embedding_figure(tmp_path("stacked.png"), fig, o);
  ASSERT_EQ(r.legend.size(), 8u);
  const auto extent = figure_extent(fig);
  const double mx = r.plot_x0 + (0.0095 - extent[0]) / (extent[1] - extent[0]) * (r.plot_x1 - r.plot_x0);
  const double my = r.plot_y1 - (0.0 - extent[2]) / (extent[3] - extent[2]) * (r.plot_y1 - r.plot_y0);
  const LegendEntry marker{"marker", {}, 0, mx - 0.5 * o.font_size, my - 0.5 * o.font_size, o.font_size, o.font_size};
  for (size_t a = 0; a < r.legend.size(); ++a) {
    EXPECT_FALSE(boxes_overlap(r.legend[a], marker)) << a;
    EXPECT_EQ(r.legend[a].cells, 20);
    EXPECT_GT(r.legend[a].w, 0);
    EXPECT_GE(r.legend[a].x, r.plot_x0);
    EXPECT_LE(r.legend[a].x + r.legend[a].w, r.plot_x1);
    EXPECT_GE(r.legend[a].y, r.plot_y0);
    EXPECT_LE(r.legend[a].y + r.legend[a].h, r.plot_y1);
    for (size_t b = a + 1; b < r.legend.size(); ++b) EXPECT_FALSE(boxes_overlap(r.legend[a], r.legend[b])) << a << " and " << b;
  }
}

TEST(PlotFigure, LegendBesideWrapsIntoColumnsWithItsSwatches) {
  const EmbeddingFigure fig = categories_figure(40, false);
  FigureOptions o;
  o.legend = LegendPlacement::right;
  o.width_pt = 700;
  o.height_pt = 300;
  const std::string path = tmp_path("columns.png");
  const FigureReport r = draw_embedding_figure(path, fig, o);
  ASSERT_EQ(r.legend.size(), 40u);
  const auto px = read_png(path);
  ASSERT_EQ(px.width, r.width_px);
  const double scale = o.dpi / 72;
  double columns = 0, last_x = -1;
  for (size_t a = 0; a < r.legend.size(); ++a) {
    const LegendEntry& e = r.legend[a];
    EXPECT_GT(e.x, r.plot_x1);
    EXPECT_LE(e.x + e.w, o.width_pt);
    EXPECT_LE(e.y + e.h, o.height_pt);
    for (size_t b = a + 1; b < r.legend.size(); ++b) EXPECT_FALSE(boxes_overlap(e, r.legend[b])) << a << " and " << b;
    if (e.x != last_x) ++columns;
    last_x = e.x;
    // The swatch: a dot of the category's colour left of the label, at its middle.
    const int sx = static_cast<int>((e.x - 5 - 0.4 * o.font_size) * scale), sy = static_cast<int>((e.y + e.h / 2) * scale);
    EXPECT_TRUE(close_to(px.at(sx, sy), e.color, 3)) << e.label;
  }
  EXPECT_GE(columns, 2);   // 40 rows do not fit in 300 pt
}

TEST(PlotFigure, FixedPointsAreDrawnByTypeWhereTheyAre) {
  EmbeddingFigure fig;
  for (int i = 0; i < 100; ++i) {
    fig.xy.push_back(i % 10);
    fig.xy.push_back(i / 10);
  }
  Topography t;
  t.fixed_points = {2, 2, 5, 5, 8, 2};
  t.types = {-1, 0, 1};
  t.x_nullclines = {{0, 7, 9, 7}};
  t.xlim = std::array<double, 2>{-1, 10};
  t.ylim = std::array<double, 2>{-1, 10};
  fig.topography = t;
  FigureOptions o;
  o.point_size = 1;
  const std::string path = tmp_path("topography.png");
  const FigureReport r = draw_embedding_figure(path, fig, o);
  const auto px = read_png(path);
  const auto extent = figure_extent(fig);
  EXPECT_EQ(extent[0], -1);
  EXPECT_EQ(extent[3], 10);
  const double scale = o.dpi / 72, radius = 0.5 * o.font_size * scale;
  auto pixel = [&](double x, double y, double dy) {
    const double X = r.plot_x0 + (x - extent[0]) / (extent[1] - extent[0]) * (r.plot_x1 - r.plot_x0);
    const double Y = r.plot_y1 - (y - extent[2]) / (extent[3] - extent[2]) * (r.plot_y1 - r.plot_y0);
    return px.at(static_cast<int>(X * scale), static_cast<int>(Y * scale + dy));
  };
  EXPECT_TRUE(close_to(pixel(2, 2, 0), {0, 0, 0}, 10));                  // stable: filled
  EXPECT_TRUE(close_to(pixel(5, 5, -0.5 * radius), {0, 0, 0}, 10));      // saddle: upper half filled
  EXPECT_TRUE(close_to(pixel(5, 5, 0.5 * radius), {1, 1, 1}, 10));       // ... lower half open
  EXPECT_TRUE(close_to(pixel(8, 2, 0), {1, 1, 1}, 10));                  // unstable: open
  EXPECT_TRUE(close_to(pixel(4, 7, 0), Rgb::hex("#0d3b66"), 40));        // the x-nullcline y = 7
  ASSERT_EQ(r.key.size(), 4u);
  EXPECT_EQ(r.key[0].label, "stable");
  EXPECT_EQ(r.key[1].label, "saddle");
  EXPECT_EQ(r.key[2].label, "unstable");
  EXPECT_EQ(r.key[3].label, "x-nullcline");
}

TEST(PlotFigure, ColourMapsAndFormats) {
  auto same = [](const Rgb& a, const std::string& hex) {
    const Rgb b = Rgb::hex(hex);
    return std::abs(a.r - b.r) < 1e-12 && std::abs(a.g - b.g) < 1e-12 && std::abs(a.b - b.b) < 1e-12;
  };
  EXPECT_TRUE(same(color_map_at(ColorMap::viridis, 0), "#440154"));
  EXPECT_TRUE(same(color_map_at(ColorMap::viridis, 0.5), "#21908c"));
  EXPECT_TRUE(same(color_map_at(ColorMap::viridis, 1), "#fde725"));
  EXPECT_TRUE(same(color_map_at(ColorMap::viridis, 7), "#fde725"));   // clamped
  EXPECT_TRUE(same(color_map_at(ColorMap::coolwarm, 0.5), "#dddcdc"));
  EXPECT_EQ(velofield::test::error_of([] { color_map_named("jet"); }), "colour map 'jet': unknown (known: viridis, inferno, coolwarm)");

  const EmbeddingFigure fig = categories_figure(3, false);
  const std::string bad = tmp_path("figure.jpg");
  EXPECT_EQ(velofield::test::error_of([&] { draw_embedding_figure(bad, fig, {}); }), bad + ": unknown figure format; use .png, .svg or .pdf");
  EXPECT_FALSE(std::filesystem::exists(bad));
  EmbeddingFigure empty;
  EXPECT_EQ(velofield::test::error_of([&] { draw_embedding_figure(tmp_path("e.png"), empty, {}); }), tmp_path("e.png") + ": nothing to plot (no cells)");
}
