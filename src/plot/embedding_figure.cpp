#include "plot/embedding_figure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"

namespace velofield::plot {

namespace {

const Rgb kMissing{0.83, 0.83, 0.83};   // cells without a category or value
const Rgb kPlain{0.62, 0.62, 0.62};     // cells when nothing colours them
const Rgb kInk{0.15, 0.15, 0.15};       // text and frame
const Rgb kNullclineX = Rgb::hex("#0d3b66");   // dark, and of hues the category palette leaves free
const Rgb kNullclineY = Rgb::hex("#8b1e3f");
constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kRasterizeAbove = 20000;

// The drawing order of the cells: a fixed pseudo-random permutation of the global indices, so that no
// category is systematically drawn over another (matplotlib draws in file order, which buries the
// first clusters of a sorted file) and the picture does not depend on the number of ranks.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Box {
  double x, y, w, h;   // top left, size
  double cx() const { return x + w / 2; }
  double cy() const { return y + h / 2; }
};

struct TextMetrics {
  double width, ascent, descent;
};

TextMetrics measure(Canvas& c, const std::string& s, double size, bool bold) {
  const double w = c.text_width(s, size, bold);   // also selects the font
  cairo_font_extents_t fe;
  cairo_font_extents(c.cr(), &fe);
  return {w, fe.ascent, fe.descent};
}

// Text whose glyphs are outlined in white first, readable on top of dots and lines.
void halo_text(Canvas& c, double left, double baseline, const std::string& s, double size, bool bold, const Rgb& ink) {
  cairo_t* cr = c.cr();
  c.text_width(s, size, bold);
  cairo_save(cr);
  cairo_new_path(cr);
  cairo_move_to(cr, left, baseline);
  cairo_text_path(cr, s.c_str());
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_width(cr, std::max(1.5, 0.3 * size));
  c.set_color({1, 1, 1}, 0.9);
  cairo_stroke_preserve(cr);
  c.set_color(ink);
  cairo_fill(cr);
  cairo_restore(cr);
}

bool overlaps(const Box& a, const Box& b, double pad) {
  return a.x < b.x + b.w + pad && b.x < a.x + a.w + pad && a.y < b.y + b.h + pad && b.y < a.y + a.h + pad;
}

// Moves label boxes apart until none overlaps another or an obstacle (a fixed-point marker; each pair
// is pushed along the axis where it overlaps least), keeping them inside the plot area. Deterministic.
void separate_labels(std::vector<Box>& boxes, const std::vector<Box>& obstacles, const Box& area, double pad) {
  auto clamp_in = [&](Box& b) {
    b.x = std::clamp(b.x, area.x, std::max(area.x, area.x + area.w - b.w));
    b.y = std::clamp(b.y, area.y, std::max(area.y, area.y + area.h - b.h));
  };
  for (auto& b : boxes) clamp_in(b);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    bool moved = false;
    for (size_t i = 0; i < boxes.size(); ++i)
      for (size_t j = i + 1; j < boxes.size(); ++j) {
        Box &a = boxes[i], &b = boxes[j];
        if (!overlaps(a, b, pad)) continue;
        const double ox = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x) + pad;
        const double oy = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y) + pad;
        // After many rounds (boxes pinned against an edge), the other axis gets a turn.
        const bool along_x = (ox < oy) != (iteration > 1000 && iteration % 2 == 1);
        const double shift = (along_x ? ox : oy) / 2 + 0.05;
        const bool a_first = along_x ? (a.cx() < b.cx() || (a.cx() == b.cx() && i < j)) : (a.cy() < b.cy() || (a.cy() == b.cy() && i < j));
        const double s = a_first ? -shift : shift;
        if (along_x) { a.x += s; b.x -= s; } else { a.y += s; b.y -= s; }
        clamp_in(a);
        clamp_in(b);
        moved = true;
      }
    for (size_t i = 0; i < boxes.size(); ++i)
      for (const Box& ob : obstacles) {
        Box& a = boxes[i];
        if (!overlaps(a, ob, pad)) continue;
        const double ox = std::min(a.x + a.w, ob.x + ob.w) - std::max(a.x, ob.x) + pad;
        const double oy = std::min(a.y + a.h, ob.y + ob.h) - std::max(a.y, ob.y) + pad;
        const bool along_x = (ox < oy) != (iteration > 1000 && iteration % 2 == 1);
        if (along_x) a.x += (a.cx() < ob.cx() ? -1 : 1) * (ox + 0.05);
        else a.y += (a.cy() < ob.cy() ? -1 : 1) * (oy + 0.05);
        clamp_in(a);
        moved = true;
      }
    if (!moved) return;
  }
}

double median(std::vector<double> v) {
  const size_t n = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end());
  double m = v[n];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n))) / 2;
  return m;
}

void fixed_point_marker(cairo_t* cr, double x, double y, double r, int type) {
  cairo_new_path(cr);
  cairo_arc(cr, x, y, r, 0, 2 * kPi);
  cairo_set_source_rgb(cr, 1, 1, 1);
  if (type < 0) cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_fill(cr);
  if (type == 0) {   // saddle: the upper half filled (dynamo's fillstyle 'top')
    cairo_new_path(cr);
    cairo_arc(cr, x, y, r, kPi, 2 * kPi);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_fill(cr);
  }
  cairo_arc(cr, x, y, r, 0, 2 * kPi);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1.0);
  cairo_stroke(cr);
}

}  // namespace

std::array<double, 4> figure_extent(const EmbeddingFigure& fig) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (size_t i = 0; i + 1 < fig.xy.size(); i += 2) {
    const double x = fig.xy[i], y = fig.xy[i + 1];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    x0 = std::min(x0, x); x1 = std::max(x1, x);
    y0 = std::min(y0, y); y1 = std::max(y1, y);
  }
  if (!(x0 <= x1)) throw Error("nothing to plot: no cell has finite coordinates");
  if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
  const double padx = 0.03 * (x1 - x0), pady = 0.03 * (y1 - y0);
  x0 -= padx; x1 += padx; y0 -= pady; y1 += pady;
  if (fig.topography && fig.topography->xlim && fig.topography->ylim) {
    x0 = std::min(x0, (*fig.topography->xlim)[0]); x1 = std::max(x1, (*fig.topography->xlim)[1]);
    y0 = std::min(y0, (*fig.topography->ylim)[0]); y1 = std::max(y1, (*fig.topography->ylim)[1]);
  }
  return {x0, x1, y0, y1};
}

FigureReport draw_embedding_figure(const std::string& path, const EmbeddingFigure& fig, const FigureOptions& o) {
  const int64_t n = static_cast<int64_t>(fig.xy.size() / 2);
  if (n == 0) throw Error(path + ": nothing to plot (no cells)");
  if (fig.categories && static_cast<int64_t>(fig.categories->codes.size()) != n) throw Error("internal: category codes do not match the cells");
  if (fig.values && static_cast<int64_t>(fig.values->values.size()) != n) throw Error("internal: values do not match the cells");
  if (!(o.width_pt > 0 && o.height_pt > 0 && o.dpi > 0)) throw Error(path + ": the figure size and dpi must be positive");

  const std::array<double, 4> extent = figure_extent(fig);
  const double x0 = extent[0], x1 = extent[1], y0 = extent[2], y1 = extent[3];

  Canvas c(path, o.width_pt, o.height_pt, o.dpi);
  cairo_t* cr = c.cr();
  FigureReport rep;
  rep.width_px = std::lround(o.width_pt * o.dpi / 72.0);
  rep.height_px = std::lround(o.height_pt * o.dpi / 72.0);
  const double fs = o.font_size;

  // Vertical layout: title, plot, x label.
  const double top = o.title.empty() ? 0.8 * fs + 4 : 2.6 * fs + 6;
  const double bottom = o.height_pt - (1.9 * fs + 4);
  const double left = 1.9 * fs + 4;
  const double column_height = bottom - top;

  // The right column: category legend (beside), colour bar, topography key.
  const double row = 1.55 * fs, swatch = 0.8 * fs;
  double legend_w = 0, legend_col_w = 0;
  int64_t legend_rows = 0;
  const bool legend_right = fig.categories && o.legend == LegendPlacement::right;
  struct KeyItem {
    std::string label;
    int kind;   // 0..2 fixed point type + 1; 3 x-nullcline, 4 y-nullcline, 5 separatrix
  };
  std::vector<KeyItem> key;
  if (fig.topography) {
    const auto& t = *fig.topography;
    const char* names[3] = {"stable", "saddle", "unstable"};
    for (int type = -1; type <= 1; ++type)
      if (std::count(t.types.begin(), t.types.end(), type)) key.push_back({names[type + 1], type + 1});
    if (!t.x_nullclines.empty()) key.push_back({"x-nullcline", 3});
    if (!t.y_nullclines.empty()) key.push_back({"y-nullcline", 4});
    if (!t.separatrices.empty()) key.push_back({"separatrix", 5});
  }
  double key_w = 0;
  for (const auto& k : key) key_w = std::max(key_w, 22 + c.text_width(k.label, fs));
  const double key_h = key.empty() ? 0 : static_cast<double>(key.size()) * row + 4;

  double bar_w = 0, vmin = 0, vmax = 1;
  std::vector<double> ticks;
  const double bar_h = std::min(0.62 * column_height, 170.0);
  if (fig.values) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : fig.values->values)
      if (std::isfinite(v)) { lo = std::min(lo, v); hi = std::max(hi, v); }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    // A diverging map is centred on zero (signed values: divergence, curl, perturbation responses).
    if (o.color_map == ColorMap::coolwarm && lo < 0 && hi > 0) {
      const double m = std::max(-lo, hi);
      lo = -m;
      hi = m;
    }
    vmin = o.vmin.value_or(lo);
    vmax = o.vmax.value_or(hi);
    if (!(vmax > vmin)) { vmin -= 0.5; vmax += 0.5; }
    rep.color_range = std::array<double, 2>{vmin, vmax};
    for (double t : nice_ticks(vmin, vmax, 5))
      if (t >= vmin - 1e-12 * (vmax - vmin) && t <= vmax + 1e-12 * (vmax - vmin)) ticks.push_back(t);
    double tick_w = 0;
    for (double t : ticks) tick_w = std::max(tick_w, c.text_width(tick_label(t), 0.9 * fs));
    bar_w = std::max(0.95 * fs + 4 + tick_w + 2, c.text_width(fig.values->key, fs));
  }
  if (legend_right) {
    const auto& cat = *fig.categories;
    const double available = std::max(row, column_height - (bar_w > 0 ? bar_h + 2.5 * fs : 0) - key_h - 4);
    legend_rows = std::max<int64_t>(1, static_cast<int64_t>(std::floor(available / row)));
    const int64_t n_cat = static_cast<int64_t>(cat.names.size());
    const int64_t columns = std::max<int64_t>(1, (n_cat + legend_rows - 1) / legend_rows);
    legend_rows = (n_cat + columns - 1) / std::max<int64_t>(1, columns);
    for (const auto& name : cat.names) legend_col_w = std::max(legend_col_w, swatch + 5 + c.text_width(name, fs));
    legend_w = static_cast<double>(columns) * legend_col_w + static_cast<double>(columns - 1) * 10;
  }
  const double column_w = std::max({legend_w, bar_w, key_w});
  const double right = o.width_pt - (column_w > 0 ? column_w + 14 + 8 : 10);
  if (!(right - left > 20 && bottom - top > 20)) throw Error(path + ": the figure is too small for its legend; enlarge --width/--height");
  rep.plot_x0 = left; rep.plot_x1 = right; rep.plot_y0 = top; rep.plot_y1 = bottom;
  const double sx = (right - left) / (x1 - x0), sy = (bottom - top) / (y1 - y0);
  auto px = [&](double x) { return left + (x - x0) * sx; };
  auto py = [&](double y) { return bottom - (y - y0) * sy; };

  // Cells.
  const double plot_area = (right - left) * (bottom - top);
  const double d = o.point_size > 0 ? o.point_size : std::clamp(0.8 * std::sqrt(plot_area / static_cast<double>(n)), 0.5, 8.0);
  rep.point_size = d;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<uint64_t> keyed(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keyed[static_cast<size_t>(i)] = mix(static_cast<uint64_t>(i));
  auto missing = [&](int64_t i) {
    if (fig.categories) return fig.categories->codes[static_cast<size_t>(i)] < 0 ||
                               fig.categories->codes[static_cast<size_t>(i)] >= static_cast<int32_t>(fig.categories->names.size());
    if (fig.values) return !std::isfinite(fig.values->values[static_cast<size_t>(i)]);
    return false;
  };
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const bool ma = missing(a), mb = missing(b);
    if (ma != mb) return ma;   // missing first: underneath
    return keyed[static_cast<size_t>(a)] < keyed[static_cast<size_t>(b)];
  });
  auto color_of = [&](int64_t i) -> Rgb {
    if (missing(i)) return kMissing;
    if (fig.categories) return fig.categories->colors[static_cast<size_t>(fig.categories->codes[static_cast<size_t>(i)])];
    if (fig.values) return color_map_at(o.color_map, (fig.values->values[static_cast<size_t>(i)] - vmin) / (vmax - vmin));
    return kPlain;
  };
  const bool vector_file = path.size() >= 4 && path.compare(path.size() - 4, 4, ".png") != 0;
  rep.cells_rasterized = vector_file && (o.rasterize == Rasterize::always || (o.rasterize == Rasterize::automatic && n > kRasterizeAbove));
  auto draw_cells = [&](cairo_t* target) {
    for (int64_t i : order) {
      const double x = fig.xy[static_cast<size_t>(2 * i)], y = fig.xy[static_cast<size_t>(2 * i + 1)];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      const Rgb col = color_of(i);
      cairo_set_source_rgba(target, col.r, col.g, col.b, o.alpha);
      cairo_new_path(target);
      cairo_arc(target, px(x), py(y), d / 2, 0, 2 * kPi);
      cairo_fill(target);
    }
  };
  cairo_save(cr);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_clip(cr);
  if (rep.cells_rasterized) {
    const double scale = o.dpi / 72.0;
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(std::ceil((right - left) * scale)),
                                                      static_cast<int>(std::ceil((bottom - top) * scale)));
    cairo_surface_set_device_scale(img, scale, scale);
    cairo_t* icr = cairo_create(img);
    cairo_set_antialias(icr, CAIRO_ANTIALIAS_BEST);
    cairo_translate(icr, -left, -top);
    draw_cells(icr);
    cairo_destroy(icr);
    cairo_surface_flush(img);
    cairo_set_source_surface(cr, img, left, top);
    cairo_paint(cr);
    cairo_surface_destroy(img);
  } else {
    draw_cells(cr);
  }

  // Streamlines, widths by speed; arrowheads along them.
  if (fig.field) {
    StreamlineOptions so = o.streamlines;
    so.separation = std::min(right - left, bottom - top) / (30.0 * std::max(1e-3, o.density));
    const std::vector<Streamline> lines = evenly_spaced_streamlines(*fig.field, sx, sy, so);
    const double vmax_field = std::max(max_grid_speed(*fig.field), 1e-300);
    auto width_at = [&](double speed) { return o.line_width * (0.25 + 0.75 * std::min(1.0, speed / vmax_field)); };
    c.set_color(o.stream_color);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    const double arrow_spacing = 9 * so.separation;
    for (const Streamline& s : lines) {
      const size_t m = s.x.size();
      // Runs of segments of one width level (8 levels) are one path: small vector files, smooth joins.
      auto level = [&](size_t k) { return std::min(7, static_cast<int>(std::floor(8 * std::min(1.0, 0.5 * (s.speed[k] + s.speed[k + 1]) / vmax_field)))); };
      size_t k = 0;
      while (k + 1 < m) {
        const int lv = level(k);
        cairo_new_path(cr);
        cairo_move_to(cr, px(s.x[k]), py(s.y[k]));
        while (k + 1 < m && level(k) == lv) {
          cairo_line_to(cr, px(s.x[k + 1]), py(s.y[k + 1]));
          ++k;
        }
        cairo_set_line_width(cr, width_at(vmax_field * (lv + 0.5) / 8));
        cairo_stroke(cr);
      }
      std::vector<double> arc(m, 0.0);
      for (size_t q = 1; q < m; ++q) arc[q] = arc[q - 1] + std::hypot(px(s.x[q]) - px(s.x[q - 1]), py(s.y[q]) - py(s.y[q - 1]));
      const double length = arc.back();
      rep.streamline_length_pt += length;
      ++rep.streamlines;
      std::vector<double> at;
      if (!(o.arrow_size > 0)) {
      } else if (length < arrow_spacing) at.push_back(length / 2);
      else
        for (double a = arrow_spacing / 2; a < length; a += arrow_spacing) at.push_back(a);
      for (double a : at) {
        const size_t q = static_cast<size_t>(std::upper_bound(arc.begin(), arc.end(), a) - arc.begin());
        if (q == 0 || q >= m) continue;
        const double t = (a - arc[q - 1]) / std::max(1e-12, arc[q] - arc[q - 1]);
        const double ax = px(s.x[q - 1]) + t * (px(s.x[q]) - px(s.x[q - 1])), ay = py(s.y[q - 1]) + t * (py(s.y[q]) - py(s.y[q - 1]));
        double tx = px(s.x[q]) - px(s.x[q - 1]), ty = py(s.y[q]) - py(s.y[q - 1]);
        const double tn = std::hypot(tx, ty);
        if (!(tn > 0)) continue;
        tx /= tn;
        ty /= tn;
        const double len = o.arrow_size * (3.5 + 2.0 * width_at(s.speed[q])), half = 0.42 * len;
        cairo_new_path(cr);
        cairo_move_to(cr, ax + 0.6 * len * tx, ay + 0.6 * len * ty);
        cairo_line_to(cr, ax - 0.4 * len * tx - half * ty, ay - 0.4 * len * ty + half * tx);
        cairo_line_to(cr, ax - 0.4 * len * tx + half * ty, ay - 0.4 * len * ty - half * tx);
        cairo_close_path(cr);
        cairo_fill(cr);
        ++rep.arrows;
      }
    }
  }

  // Topography: nullclines, separatrices, fixed points.
  if (fig.topography) {
    const auto& t = *fig.topography;
    auto curve = [&](const std::vector<double>& pts) {
      cairo_new_path(cr);
      for (size_t q = 0; q + 1 < pts.size(); q += 2) {
        if (!std::isfinite(pts[q]) || !std::isfinite(pts[q + 1])) { cairo_new_sub_path(cr); continue; }
        if (!cairo_has_current_point(cr)) cairo_move_to(cr, px(pts[q]), py(pts[q + 1]));
        else cairo_line_to(cr, px(pts[q]), py(pts[q + 1]));
      }
      cairo_stroke(cr);
    };
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_width(cr, 1.2);
    c.set_color(kNullclineX);
    for (const auto& pts : t.x_nullclines) curve(pts);
    c.set_color(kNullclineY);
    for (const auto& pts : t.y_nullclines) curve(pts);
    const double dash[] = {4.0, 2.5};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.3);
    c.set_color({0, 0, 0});
    for (const auto& pts : t.separatrices) curve(pts);
    cairo_set_dash(cr, nullptr, 0, 0);
  }

  // Category labels on the data, at the cluster medians, pushed apart where they would overlap.
  if (fig.categories) {
    const auto& cat = *fig.categories;
    const size_t k_cat = cat.names.size();
    std::vector<std::vector<double>> mx(k_cat), my(k_cat);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t code = cat.codes[static_cast<size_t>(i)];
      const double x = fig.xy[static_cast<size_t>(2 * i)], y = fig.xy[static_cast<size_t>(2 * i + 1)];
      if (code < 0 || code >= static_cast<int32_t>(k_cat) || !std::isfinite(x) || !std::isfinite(y)) continue;
      mx[static_cast<size_t>(code)].push_back(px(x));
      my[static_cast<size_t>(code)].push_back(py(y));
    }
    for (size_t k = 0; k < k_cat; ++k)
      rep.legend.push_back({cat.names[k], cat.colors[k], static_cast<int64_t>(mx[k].size()), 0, 0, 0, 0});
    if (o.legend == LegendPlacement::on_data) {
      const double size = fs;
      std::vector<Box> boxes;
      std::vector<size_t> which;
      std::vector<double> ascent;
      for (size_t k = 0; k < k_cat; ++k) {
        if (mx[k].empty()) continue;   // a category without cells has no place on the data
        const TextMetrics m = measure(c, cat.names[k], size, true);
        boxes.push_back({median(mx[k]) - m.width / 2, median(my[k]) - (m.ascent + m.descent) / 2, m.width, m.ascent + m.descent});
        ascent.push_back(m.ascent);
        which.push_back(k);
      }
      std::vector<Box> markers;
      if (fig.topography)
        for (size_t k = 0; 2 * k + 1 < fig.topography->fixed_points.size(); ++k) {
          const double x = px(fig.topography->fixed_points[2 * k]), y = py(fig.topography->fixed_points[2 * k + 1]), r = 0.5 * fs + 0.5;
          if (std::isfinite(x) && std::isfinite(y)) markers.push_back({x - r, y - r, 2 * r, 2 * r});
        }
      separate_labels(boxes, markers, {left + 2, top + 2, right - left - 4, bottom - top - 4}, 1.0);
      for (size_t b = 0; b < boxes.size(); ++b) {
        halo_text(c, boxes[b].x, boxes[b].y + ascent[b], cat.names[which[b]], size, true, kInk);
        LegendEntry& e = rep.legend[which[b]];
        e.x = boxes[b].x; e.y = boxes[b].y; e.w = boxes[b].w; e.h = boxes[b].h;
      }
    }
  }
  cairo_restore(cr);   // the plot-area clip

  // Frame, axis labels, title.
  cairo_set_line_width(cr, 0.7);
  c.set_color(kInk);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  c.text((left + right) / 2, bottom + 1.35 * fs + 2, fig.x_label, fs, Anchor::center);
  c.text(left - 0.6 * fs - 2, (top + bottom) / 2, fig.y_label, fs, Anchor::center, false, -kPi / 2);
  if (!o.title.empty()) c.text((left + right) / 2, top - 0.9 * fs, o.title, 1.25 * fs, Anchor::center, true);

  // Fixed points last and unclipped: one on the domain's edge keeps its whole marker (over the frame),
  // so its type stays legible.
  if (fig.topography) {
    const auto& t = *fig.topography;
    for (size_t k = 0; k < t.types.size() && 2 * k + 1 < t.fixed_points.size(); ++k) {
      const double x = t.fixed_points[2 * k], y = t.fixed_points[2 * k + 1];
      if (std::isfinite(x) && std::isfinite(y)) fixed_point_marker(cr, px(x), py(y), 0.5 * fs, t.types[k]);
    }
  }

  // The right column.
  const double cx = right + 14;
  double cy = top + 2;
  if (legend_right) {
    const auto& cat = *fig.categories;
    for (size_t k = 0; k < cat.names.size(); ++k) {
      const int64_t column = static_cast<int64_t>(k) / legend_rows, r = static_cast<int64_t>(k) % legend_rows;
      const double ex = cx + static_cast<double>(column) * (legend_col_w + 10), ey = cy + static_cast<double>(r) * row + row / 2;
      c.set_color(cat.colors[k]);
      cairo_new_path(cr);
      cairo_arc(cr, ex + swatch / 2, ey, swatch / 2, 0, 2 * kPi);
      cairo_fill(cr);
      const TextMetrics m = measure(c, cat.names[k], fs, false);
      const double baseline = ey + (m.ascent - m.descent) / 2;
      c.set_color(kInk);
      c.text(ex + swatch + 5, baseline, cat.names[k], fs);
      LegendEntry& e = rep.legend[k];
      e.x = ex + swatch + 5; e.y = baseline - m.ascent; e.w = m.width; e.h = m.ascent + m.descent;
    }
    cy += static_cast<double>(legend_rows) * row + 8;
  }
  if (fig.values) {
    c.set_color(kInk);
    c.text(cx, cy + fs, fig.values->key, fs);
    const double by = cy + 1.6 * fs, bw = 0.95 * fs;
    cairo_pattern_t* grad = cairo_pattern_create_linear(0, by + bar_h, 0, by);
    for (int s = 0; s <= 40; ++s) {
      const Rgb col = color_map_at(o.color_map, s / 40.0);
      cairo_pattern_add_color_stop_rgb(grad, s / 40.0, col.r, col.g, col.b);
    }
    cairo_rectangle(cr, cx, by, bw, bar_h);
    cairo_set_source(cr, grad);
    cairo_fill(cr);
    cairo_pattern_destroy(grad);
    c.set_color(kInk);
    cairo_set_line_width(cr, 0.5);
    cairo_rectangle(cr, cx, by, bw, bar_h);
    cairo_stroke(cr);
    for (double t : ticks) {
      const double ty = by + bar_h - (t - vmin) / (vmax - vmin) * bar_h;
      cairo_move_to(cr, cx + bw, ty);
      cairo_line_to(cr, cx + bw + 2.5, ty);
      cairo_stroke(cr);
      c.text(cx + bw + 4, ty + 0.32 * fs, tick_label(t), 0.9 * fs);
    }
    cy = by + bar_h + fs;
  }
  for (const auto& k : key) {
    const double ey = cy + row / 2;
    if (k.kind <= 2) {
      fixed_point_marker(cr, cx + 8, ey, 0.45 * fs, k.kind - 1);
    } else {
      cairo_new_path(cr);
      cairo_set_line_width(cr, k.kind == 5 ? 1.3 : 1.2);
      const double dash[] = {4.0, 2.5};
      if (k.kind == 5) cairo_set_dash(cr, dash, 2, 0);
      c.set_color(k.kind == 3 ? kNullclineX : k.kind == 4 ? kNullclineY : Rgb{0, 0, 0});
      cairo_move_to(cr, cx, ey);
      cairo_line_to(cr, cx + 16, ey);
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
    }
    const TextMetrics m = measure(c, k.label, fs, false);
    const double baseline = ey + (m.ascent - m.descent) / 2;
    c.set_color(kInk);
    c.text(cx + 22, baseline, k.label, fs);
    rep.key.push_back({k.label, kInk, 0, cx + 22, baseline - m.ascent, m.width, m.ascent + m.descent});
    cy += row;
  }
  c.finish();
  return rep;
}

}  // namespace velofield::plot
