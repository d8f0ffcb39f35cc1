// The plots on the pancreas data with dynamo's own embedding, velocities, grid and topography
// (../shared/reference/dynamo) put into the Dataset, checked in the pictures: size, the share of
// each cluster's colour against its share of the cells, streamlines where the cells are, every
// category in the legend, fixed points by type where they are, the colour bar's map, valid
// .svg/.pdf files, clear errors, and the same picture at any number of ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <system_error>

#include "io/h5ad.hpp"
#include "plot/embedding_plot.hpp"
#include "plot/topography_slots.hpp"
#include "png_pixels.hpp"
#include "reference.hpp"
#include "test_support.hpp"

using namespace velofield;
using namespace velofield::test;
using plot::EmbeddingPlotRequest;
using plot::FigureReport;
using plot::PlotKind;

namespace {

const char* kPancreas = "pancreas_supercell_3696x2000.h5ad";

UnsNode numeric(std::vector<int64_t> shape, const std::vector<double>& v) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(v);
  return UnsNode::numeric(std::move(a));
}

// dynamo's topography of X_umap (topo_umap_*), as the topography stage stores it.
plot::Topography reference_topography() {
  plot::Topography t;
  t.fixed_points = reference_array("topo_umap_Xss").values.to_double();
  for (double v : reference_array("topo_umap_ftype").values.to_double()) t.types.push_back(static_cast<int>(v));
  for (const char* which : {"NCx", "NCy"})
    for (int k = 0;; ++k) {
      std::vector<double> piece;
      try {
        piece = reference_array(std::string("topo_umap_") + which + "_" + std::to_string(k)).values.to_double();
      } catch (const Error&) {
        break;
      }
      (which[2] == 'x' ? t.x_nullclines : t.y_nullclines).push_back(piece);
    }
  const auto xl = reference_array("topo_umap_xlim").values.to_double(), yl = reference_array("topo_umap_ylim").values.to_double();
  t.xlim = std::array<double, 2>{xl[0], xl[1]};
  t.ylim = std::array<double, 2>{yl[0], yl[1]};
  return t;
}

// The pancreas file (obs clusters) with dynamo's X_umap, velocity_umap, velocity_umap_perturbation,
// its 50 × 50 grid velocity (VecFld_umap_grid / _grid_V) both as uns grid_velocity_umap (dynamo's
// velocity_on_grid layout) and in uns VecFld_umap with the topography, and obs umap_1 = X_umap[:, 0].
Dataset pancreas(MPI_Comm comm, const std::string& path) {
  ReadOptions ro;
  ro.read_obsp = false;
  Dataset d = read_h5ad(path, comm, ro);
  const DenseArray umap = reference_array("X_umap");
  d.obsm["X_umap"] = rows_of(umap, d);
  d.obsm["velocity_umap"] = rows_of(reference_array("velocity_umap"), d);
  d.obsm["velocity_umap_perturbation"] = rows_of(reference_array("velocity_umap_perturbation"), d);
  const std::vector<double> grid = reference_array("VecFld_umap_grid").values.to_double();
  const std::vector<double> grid_v = reference_array("VecFld_umap_grid_V").values.to_double();
  const int64_t m = 50;
  std::vector<double> axes(2 * m), v(2 * m * m);
  for (int64_t i = 0; i < m; ++i) {
    axes[static_cast<size_t>(i)] = grid[static_cast<size_t>(2 * i)];              // x of point (0, i)
    axes[static_cast<size_t>(m + i)] = grid[static_cast<size_t>(2 * i * m + 1)];  // y of point (i, 0)
  }
  for (int64_t p = 0; p < m * m; ++p) {
    v[static_cast<size_t>(p)] = grid_v[static_cast<size_t>(2 * p)];
    v[static_cast<size_t>(m * m + p)] = grid_v[static_cast<size_t>(2 * p + 1)];
  }
  UnsNode g = UnsNode::dict();
  g["X_grid"] = numeric({2, m}, axes);
  g["V_grid"] = numeric({2, m, m}, v);
  d.uns["grid_velocity_umap"] = g;
  UnsNode vf = UnsNode::dict();
  vf["grid"] = numeric({m * m, 2}, grid);
  vf["grid_V"] = numeric({m * m, 2}, grid_v);
  plot::write_topography(vf, reference_topography());
  d.uns["VecFld_umap"] = vf;
  std::vector<double> x;
  const std::vector<double> all = umap.values.to_double();
  for (int64_t i = 0; i < d.n_obs_local; ++i) x.push_back(all[static_cast<size_t>(2 * (d.obs_begin + i))]);
  d.obs.set("umap_1", Column::numeric(Array::from(x)));
  return d;
}

// Cells per category over all ranks.
std::vector<int64_t> category_counts(const Dataset& d, const std::string& key) {
  const Column& c = d.obs.columns.at(key);
  std::vector<int64_t> counts(c.categories.size(), 0);
  for (int64_t i = 0; i < d.n_obs_local; ++i) counts[static_cast<size_t>(c.values.as_int64(static_cast<size_t>(i)))]++;
  MPI_Allreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(counts.size()), MPI_INT64_T, MPI_SUM, d.comm);
  return counts;
}

EmbeddingPlotRequest request(PlotKind kind, const std::string& color) {
  EmbeddingPlotRequest r;
  r.kind = kind;
  r.color = color;
  return r;
}

// A bare picture for pixel counts: no title, no legend, small dots at 300 dpi.
EmbeddingPlotRequest bare(PlotKind kind, const std::string& color) {
  EmbeddingPlotRequest r = request(kind, color);
  r.title = std::string();
  r.figure.legend = plot::LegendPlacement::none;
  r.figure.dpi = 300;
  r.figure.point_size = 1.2;
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct Area {
  int x0, y0, x1, y1;   // pixels strictly inside the frame
};
Area plot_area(const FigureReport& r, double dpi) {
  const double s = dpi / 72;
  return {static_cast<int>(std::ceil(r.plot_x0 * s)) + 2, static_cast<int>(std::ceil(r.plot_y0 * s)) + 2,
          static_cast<int>(std::floor(r.plot_x1 * s)) - 2, static_cast<int>(std::floor(r.plot_y1 * s)) - 2};
}

int64_t dark_pixels(const Pixels& px, const Area& a) {
  int64_t n = 0;
  for (int y = a.y0; y < a.y1; ++y)
    for (int x = a.x0; x < a.x1; ++x) n += dark(px.at(x, y));
  return n;
}

// Removes a test's figures when the test ends (rank 0 made the directory and draws last).
struct RemovedAtEnd {
  std::string dir;
  ~RemovedAtEnd() {
    if (rank() != 0) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

TEST(PlotPancreas, ClusterColoursTakeTheirCellSharesAndStreamlinesCoverTheCells) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::vector<int64_t> counts = category_counts(d, "clusters");
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  // The same cells without and with streamlines (the grid from uns grid_velocity_umap).
  const FigureReport dots = plot::plot_embedding(d, bare(PlotKind::scatter, "clusters"), dir + "/dots.png");
  const FigureReport lines = plot::plot_embedding(d, bare(PlotKind::streamline, "clusters"), dir + "/lines.png");
  if (rank() != 0) return;
  const Pixels a = read_png(dir + "/dots.png"), b = read_png(dir + "/lines.png");
  ASSERT_EQ(a.width, 1920);   // 6.4 × 5 inches at 300 dpi
  ASSERT_EQ(a.height, 1500);
  const Area area = plot_area(dots, 300);
  const auto& legend = dots.legend;
  ASSERT_EQ(legend.size(), counts.size());

  // Each cluster's share of the pixels of exactly its colour against its share of the cells. Dots of
  // 1.2 pt (5 px, about 13 px of pure colour inside the anti-aliased rim) rarely overlap; where they
  // do (the densest cores) a cluster loses pixels to its own cells and its neighbours', a few percent
  // of its share (measured: at most 5% relative, Delta and Epsilon). Allowed: 15% of the share, or
  // 0.5 percentage points for the smallest clusters.
  std::vector<int64_t> pixels(counts.size(), 0);
  int64_t colored = 0;
  for (int y = area.y0; y < area.y1; ++y)
    for (int x = area.x0; x < area.x1; ++x)
      for (size_t k = 0; k < legend.size(); ++k)
        if (close_to(a.at(x, y), legend[k].color, 2)) {
          ++pixels[k];
          ++colored;
          break;
        }
  const double n = static_cast<double>(d.n_obs);
  for (size_t k = 0; k < counts.size(); ++k) {
    const double cell_share = static_cast<double>(counts[k]) / n, pixel_share = static_cast<double>(pixels[k]) / static_cast<double>(colored);
    std::printf("  %-14s cells %4lld (%.3f)  pixels %6lld (%.3f)\n", legend[k].label.c_str(), static_cast<long long>(counts[k]), cell_share,
                static_cast<long long>(pixels[k]), pixel_share);
    EXPECT_EQ(legend[k].cells, counts[k]);
    EXPECT_NEAR(pixel_share, cell_share, std::max(0.15 * cell_share, 0.005)) << legend[k].label;
  }

  // Streamlines: dark pixels, none without them (so the count can fail), spread over the cells.
  const int64_t dark_without = dark_pixels(a, area), dark_with = dark_pixels(b, area);
  const double plot_pixels = static_cast<double>(area.x1 - area.x0) * (area.y1 - area.y0);
  std::printf("  dark pixels: %lld without streamlines, %lld with (%.2f%% of the plot); %lld lines, %lld arrowheads, %.0f pt\n",
              static_cast<long long>(dark_without), static_cast<long long>(dark_with), 100 * dark_with / plot_pixels,
              static_cast<long long>(lines.streamlines), static_cast<long long>(lines.arrows), lines.streamline_length_pt);
  EXPECT_EQ(dark_without, 0);
  EXPECT_GT(dark_with / plot_pixels, 0.01);
  EXPECT_GE(lines.streamlines, 20);
  EXPECT_GE(lines.arrows, lines.streamlines);
  // The plot in 8 × 8 blocks: of the blocks holding cells (≥ 2% cluster colour), most hold streamlines.
  int with_cells = 0, with_both = 0;
  const int bw = (area.x1 - area.x0) / 8, bh = (area.y1 - area.y0) / 8;
  for (int by = 0; by < 8; ++by)
    for (int bx = 0; bx < 8; ++bx) {
      int64_t cells = 0, ink = 0;
      for (int y = area.y0 + by * bh; y < area.y0 + (by + 1) * bh; ++y)
        for (int x = area.x0 + bx * bw; x < area.x0 + (bx + 1) * bw; ++x) {
          const Pixel& p = a.at(x, y);
          cells += !(p.r == 255 && p.g == 255 && p.b == 255);
          ink += dark(b.at(x, y));
        }
      if (cells < 0.02 * bw * bh) continue;
      ++with_cells;
      with_both += ink > 0;
    }
  std::printf("  blocks with cells: %d, with cells and streamlines: %d\n", with_cells, with_both);
  EXPECT_GE(with_cells, 15);
  EXPECT_GE(with_both, 0.75 * with_cells);
}

TEST(PlotPancreas, TheLegendListsEveryCategory) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::vector<int64_t> counts = category_counts(d, "clusters");
  const std::vector<std::string>& names = d.obs.columns.at("clusters").categories;
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  const FigureReport on_data = plot::plot_embedding(d, request(PlotKind::streamline, "clusters"), dir + "/on_data.png");
  EmbeddingPlotRequest r = request(PlotKind::streamline, "clusters");
  r.figure.legend = plot::LegendPlacement::right;
  const FigureReport right = plot::plot_embedding(d, r, dir + "/right.png");
  if (rank() != 0) return;
  const Pixels a = read_png(dir + "/on_data.png"), b = read_png(dir + "/right.png");
  EXPECT_EQ(a.width, 960);   // 6.4 × 5 inches at the default 150 dpi
  EXPECT_EQ(a.height, 750);
  EXPECT_EQ(on_data.width_px, 960);
  for (const FigureReport* rep : {&on_data, &right}) {
    ASSERT_EQ(rep->legend.size(), names.size());
    for (size_t k = 0; k < names.size(); ++k) {
      const auto& e = rep->legend[k];
      EXPECT_EQ(e.label, names[k]);
      EXPECT_EQ(e.cells, counts[k]);
      EXPECT_TRUE(e.w > 0 && e.h > 0) << e.label;   // drawn
      EXPECT_GE(e.x, 0);
      EXPECT_LE(e.x + e.w, 6.4 * 72);
      for (size_t j = k + 1; j < names.size(); ++j) {
        const auto& f = rep->legend[j];
        EXPECT_FALSE(e.x < f.x + f.w && f.x < e.x + e.w && e.y < f.y + f.h && f.y < e.y + e.h) << e.label << " overlaps " << f.label;
      }
    }
  }
  // On the data: inside the plot, and the labels' ink is there (dark text in each box).
  for (const auto& e : on_data.legend) {
    EXPECT_GE(e.x, on_data.plot_x0);
    EXPECT_LE(e.x + e.w, on_data.plot_x1);
    int64_t ink = 0;
    for (int y = static_cast<int>(e.y * 150 / 72); y < static_cast<int>((e.y + e.h) * 150 / 72); ++y)
      for (int x = static_cast<int>(e.x * 150 / 72); x < static_cast<int>((e.x + e.w) * 150 / 72); ++x) ink += dark(a.at(x, y), 60);
    EXPECT_GT(ink, 20) << e.label;
  }
  // Beside: one swatch of the category's colour left of each label.
  for (const auto& e : right.legend) {
    EXPECT_GT(e.x, right.plot_x1);
    const Pixel& p = b.at(static_cast<int>((e.x - 5 - 0.4 * 9) * 150 / 72), static_cast<int>((e.y + e.h / 2) * 150 / 72));
    EXPECT_TRUE(close_to(p, e.color, 3)) << e.label;
  }
}

TEST(PlotPancreas, SvgAndPdfAreValidFiles) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  plot::plot_embedding(d, request(PlotKind::streamline, "clusters"), dir + "/s.svg");
  plot::plot_embedding(d, request(PlotKind::topography, "clusters"), dir + "/t.pdf");
  EmbeddingPlotRequest r = request(PlotKind::streamline, "clusters");
  r.figure.rasterize = plot::Rasterize::always;
  plot::plot_embedding(d, r, dir + "/raster.svg");
  if (rank() != 0) return;
  const std::string svg = slurp(dir + "/s.svg"), pdf = slurp(dir + "/t.pdf"), raster = slurp(dir + "/raster.svg");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg", 0), 0u);
  EXPECT_NE(svg.find("width=\"460.8pt\" height=\"360pt\""), std::string::npos);
  ASSERT_GE(svg.size(), 7u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  size_t paths = 0;
  for (size_t at = svg.find("<path"); at != std::string::npos; at = svg.find("<path", at + 1)) ++paths;
  EXPECT_GE(paths, static_cast<size_t>(d.n_obs));   // one per cell, then the lines and glyphs
  EXPECT_EQ(raster.find("<image") != std::string::npos, true);
  EXPECT_LT(raster.size(), svg.size());
  EXPECT_EQ(pdf.rfind("%PDF-1.", 0), 0u);
  EXPECT_NE(pdf.find("/MediaBox [ 0 0 460.8 360 ]"), std::string::npos);
  const size_t eof = pdf.rfind("%%EOF");
  ASSERT_NE(eof, std::string::npos);
  EXPECT_GE(eof + 7, pdf.size());   // the last line
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

TEST(PlotPancreas, TopographyMarksEveryFixedPointByType) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  EmbeddingPlotRequest r = bare(PlotKind::topography, "clusters");
  const FigureReport rep = plot::plot_embedding(d, r, dir + "/topography.png");
  if (rank() != 0) return;
  const plot::Topography t = reference_topography();
  ASSERT_EQ(t.types.size(), 18u);
  ASSERT_EQ(rep.key.size(), 5u);
  EXPECT_EQ(rep.key[0].label, "stable");
  EXPECT_EQ(rep.key[1].label, "saddle");
  EXPECT_EQ(rep.key[2].label, "unstable");
  EXPECT_EQ(rep.key[3].label, "x-nullcline");
  EXPECT_EQ(rep.key[4].label, "y-nullcline");
  EXPECT_GE(rep.streamlines, 10);
  const Pixels px = read_png(dir + "/topography.png");
  plot::EmbeddingFigure fig;
  fig.xy = reference_array("X_umap").values.to_double();
  fig.topography = t;
  const auto ext = plot::figure_extent(fig);
  EXPECT_EQ(ext[0], (*t.xlim)[0]);   // the topography's domain is wider than the cells
  const double s = 300.0 / 72, radius = 0.5 * 9;
  int checked = 0;
  for (size_t k = 0; k < t.types.size(); ++k) {
    const double X = rep.plot_x0 + (t.fixed_points[2 * k] - ext[0]) / (ext[1] - ext[0]) * (rep.plot_x1 - rep.plot_x0);
    const double Y = rep.plot_y1 - (t.fixed_points[2 * k + 1] - ext[2]) / (ext[3] - ext[2]) * (rep.plot_y1 - rep.plot_y0);
    bool alone = true;   // markers drawn over each other are not checked
    for (size_t j = 0; j < t.types.size(); ++j) {
      if (j == k) continue;
      const double Xj = rep.plot_x0 + (t.fixed_points[2 * j] - ext[0]) / (ext[1] - ext[0]) * (rep.plot_x1 - rep.plot_x0);
      const double Yj = rep.plot_y1 - (t.fixed_points[2 * j + 1] - ext[2]) / (ext[3] - ext[2]) * (rep.plot_y1 - rep.plot_y0);
      alone = alone && std::hypot(X - Xj, Y - Yj) > 2.2 * radius;
    }
    if (!alone) continue;
    auto at = [&](double dy) { return px.at(static_cast<int>(X * s), static_cast<int>((Y + dy) * s)); };
    const plot::Rgb black{0, 0, 0}, white{1, 1, 1};
    if (t.types[k] == -1) {
      EXPECT_TRUE(close_to(at(0), black, 10)) << k;
    } else if (t.types[k] == 1) {
      EXPECT_TRUE(close_to(at(0), white, 10)) << k;
    } else {
      EXPECT_TRUE(close_to(at(-0.5 * radius), black, 10) && close_to(at(0.5 * radius), white, 10)) << k;
    }
    ++checked;
  }
  std::printf("  fixed points checked in the picture: %d of %zu (the others overlap a neighbour)\n", checked, t.types.size());
  EXPECT_GE(checked, 12);
  int64_t x_ink = 0, y_ink = 0;
  for (int y = 0; y < px.height; ++y)
    for (int x = 0; x < static_cast<int>(rep.plot_x1 * s); ++x) {
      x_ink += close_to(px.at(x, y), plot::Rgb::hex("#0d3b66"), 12);
      y_ink += close_to(px.at(x, y), plot::Rgb::hex("#8b1e3f"), 12);
    }
  EXPECT_GT(x_ink, 2000);   // dynamo's 86 x-nullcline and 31 y-nullcline pieces
  EXPECT_GT(y_ink, 2000);
}

TEST(PlotPancreas, PerturbationStreamlinesFollowTheirOwnField) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  // Both grids smoothed from the cells (the transition stage's grid_velocity): the unperturbed
  // velocity_umap and dynamo's Neurog3 knock-out response velocity_umap_perturbation on X_umap.
  EmbeddingPlotRequest base = bare(PlotKind::streamline, "clusters");
  base.field = plot::FieldSource::cells;
  EmbeddingPlotRequest perturbed = base;
  perturbed.basis = "umap_perturbation";
  const FigureReport a = plot::plot_embedding(d, base, dir + "/velocity.png");
  const FigureReport b = plot::plot_embedding(d, perturbed, dir + "/perturbation.png");
  if (rank() != 0) return;
  EXPECT_GE(b.streamlines, 20);
  const Pixels pa = read_png(dir + "/velocity.png"), pb = read_png(dir + "/perturbation.png");
  const Area area = plot_area(a, 300);
  EXPECT_EQ(a.plot_x0, b.plot_x0);   // the same cells on the same axes ...
  int64_t both = 0, either = 0;
  for (int y = area.y0; y < area.y1; ++y)
    for (int x = area.x0; x < area.x1; ++x) {
      const bool da = dark(pa.at(x, y)), db = dark(pb.at(x, y));
      both += da && db;
      either += da || db;
    }
  std::printf("  dark pixels shared by the two fields: %.2f of %lld\n", static_cast<double>(both) / static_cast<double>(either),
              static_cast<long long>(either));
  EXPECT_LT(static_cast<double>(both) / static_cast<double>(either), 0.5);   // ... but other streamlines
}

TEST(PlotPancreas, ScatterByValueFollowsTheColourMap) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  const FigureReport rep = plot::plot_embedding(d, bare(PlotKind::scatter, "umap_1"), dir + "/value.png");
  if (rank() != 0) return;
  const std::vector<double> umap = reference_array("X_umap").values.to_double();
  double lo = 1e300, hi = -1e300;
  for (size_t i = 0; i < umap.size(); i += 2) { lo = std::min(lo, umap[i]); hi = std::max(hi, umap[i]); }
  ASSERT_TRUE(rep.color_range.has_value());
  EXPECT_EQ((*rep.color_range)[0], lo);
  EXPECT_EQ((*rep.color_range)[1], hi);
  // The value is the x coordinate: the colour map position of each dot pixel grows with x.
  const Pixels px = read_png(dir + "/value.png");
  const Area area = plot_area(rep, 300);
  std::vector<plot::Rgb> table;
  for (int k = 0; k <= 200; ++k) table.push_back(plot::color_map_at(plot::ColorMap::viridis, k / 200.0));
  double sx = 0, st = 0, sxx = 0, stt = 0, sxt = 0, m = 0;
  for (int y = area.y0; y < area.y1; y += 2)
    for (int x = area.x0; x < area.x1; x += 2) {
      for (int k = 0; k <= 200; ++k)
        if (close_to(px.at(x, y), table[static_cast<size_t>(k)], 2)) {
          const double t = k / 200.0;
          sx += x; st += t; sxx += double(x) * x; stt += t * t; sxt += x * t; ++m;
          break;
        }
    }
  const double corr = (m * sxt - sx * st) / std::sqrt((m * sxx - sx * sx) * (m * stt - st * st));
  std::printf("  %g dot pixels on the colour map; correlation of map position and x: %.4f\n", m, corr);
  EXPECT_GT(m, 5000);
  EXPECT_GT(corr, 0.97);
}

TEST(PlotPancreas, BadInputGivesClearErrors) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  auto error = [&](EmbeddingPlotRequest r, const std::string& out = "x.png") {
    const std::string e = error_of([&] { plot::plot_embedding(d, r, dir + "/" + out); });
    for (const auto& other : all_gather(e)) EXPECT_EQ(other, e);   // every rank throws the same
    return e;
  };
  EmbeddingPlotRequest r = request(PlotKind::streamline, "clusters");
  r.basis = "tsne";
  EXPECT_EQ(error(r), path + ": obsm/X_tsne: not present: no embedding 'tsne' (this file has embeddings: umap)");
  r = request(PlotKind::scatter, "cluster");
  EXPECT_EQ(error(r).rfind(path + ": obs/cluster: no such obs column to colour by (this file has: clusters.coarse, clusters, ", 0), 0u);
  r = request(PlotKind::scatter, "clusters");
  r.color_key = "Ductal=#112233,Betta=#445566";
  EXPECT_EQ(error(r), path + ": obs/clusters: --color_key: 'Betta' is not a category of obs/clusters (categories: Ductal, Ngn3 low EP, "
                             "Ngn3 high EP, Pre-endocrine, Beta, Alpha, Delta, Epsilon)");
  r = request(PlotKind::streamline, "clusters");
  r.velocity_key = "velocity_tsne";
  r.field = plot::FieldSource::cells;
  EXPECT_EQ(error(r).rfind(path + ": obsm/velocity_tsne: not present: streamlines need the embedding velocity", 0), 0u);
  r = request(PlotKind::scatter, "clusters");
  EXPECT_EQ(error(r, "x.jpg"), dir + "/x.jpg: unknown figure format; use .png, .svg or .pdf");
  d.uns.children.erase("VecFld_umap");
  r = request(PlotKind::topography, "clusters");
  EXPECT_EQ(error(r), path + ": uns/VecFld_umap: not present: topography-plot needs the vector field and its topography (run vectorfield "
                             "and topography with basis umap)");
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));
}

TEST(PlotPancreas, ThePictureDoesNotDependOnTheNumberOfRanks) {
  VELOFIELD_REQUIRE_SHARED(path, kPancreas);
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const Dataset d = pancreas(MPI_COMM_WORLD, path);
  const std::string dir = temp_dir();
  const RemovedAtEnd cleanup{dir};
  plot::plot_embedding(d, request(PlotKind::topography, "clusters"), dir + "/all_ranks.png");
  if (rank() != 0) return;
  const Dataset alone = pancreas(MPI_COMM_SELF, path);
  plot::plot_embedding(alone, request(PlotKind::topography, "clusters"), dir + "/one_rank.png");
  EXPECT_EQ(slurp(dir + "/all_ranks.png"), slurp(dir + "/one_rank.png"));
}
