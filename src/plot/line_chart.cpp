#include "plot/line_chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "plot/canvas.hpp"

namespace velofield::plot {

void draw_line_chart(const std::string& path, const std::vector<Series>& series, const LineChartOptions& o) {
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]); x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]); y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) throw Error(path + ": nothing to plot");
  if (o.reference_y) { y0 = std::min(y0, *o.reference_y); y1 = std::max(y1, *o.reference_y); }
  if (o.y_min) y0 = *o.y_min;
  if (o.y_max) y1 = *o.y_max;
  if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
  const double pad_y = 0.05 * (y1 - y0);
  if (!o.y_min) y0 -= pad_y;
  if (!o.y_max) y1 += pad_y;

  Canvas c(path, o.width_pt, o.height_pt, o.dpi);
  double legend_w = 0;
  for (const auto& s : series) legend_w = std::max(legend_w, c.text_width(s.name, 9) + 30);
  if (o.reference_y && !o.reference_label.empty()) legend_w = std::max(legend_w, c.text_width(o.reference_label, 9) + 30);
  const double left = 58, right = o.width_pt - 16 - legend_w, top = o.title.empty() ? 14 : 32, bottom = o.height_pt - 44;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };
  cairo_t* cr = c.cr();

  // Grid and ticks.
  cairo_set_line_width(cr, 0.5);
  for (double t : nice_ticks(y0, y1)) {
    c.set_color({0.88, 0.88, 0.88});
    cairo_move_to(cr, left, py(t)); cairo_line_to(cr, right, py(t)); cairo_stroke(cr);
    c.set_color({0.2, 0.2, 0.2});
    c.text(left - 5, py(t) + 3, tick_label(t), 9, Anchor::right);
  }
  for (double t : nice_ticks(x0, x1)) {
    c.set_color({0.88, 0.88, 0.88});
    cairo_move_to(cr, px(t), top); cairo_line_to(cr, px(t), bottom); cairo_stroke(cr);
    c.set_color({0.2, 0.2, 0.2});
    c.text(px(t), bottom + 13, tick_label(t), 9, Anchor::center);
  }
  c.set_color({0.2, 0.2, 0.2});
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  if (!o.title.empty()) c.text((left + right) / 2, 20, o.title, 11, Anchor::center, true);
  c.text((left + right) / 2, o.height_pt - 10, o.x_label, 10, Anchor::center);
  c.text(16, (top + bottom) / 2, o.y_label, 10, Anchor::center, false, -M_PI / 2);

  // Reference line, then the series.
  double ly = top + 8;
  if (o.reference_y) {
    c.set_color({0.4, 0.4, 0.4});
    const double dash[] = {4.0, 3.0};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, left, py(*o.reference_y)); cairo_line_to(cr, right, py(*o.reference_y)); cairo_stroke(cr);
    if (!o.reference_label.empty()) {
      cairo_move_to(cr, right + 10, ly); cairo_line_to(cr, right + 26, ly); cairo_stroke(cr);
      c.text(right + 30, ly + 3, o.reference_label, 9);
      ly += 14;
    }
    cairo_set_dash(cr, nullptr, 0, 0);
  }
  cairo_save(cr);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_clip(cr);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    c.set_color(category_color(k));
    cairo_set_line_width(cr, 1.8);
    bool started = false;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      if (!started) cairo_move_to(cr, px(s.x[i]), py(s.y[i]));
      else cairo_line_to(cr, px(s.x[i]), py(s.y[i]));
      started = true;
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      cairo_arc(cr, px(s.x[i]), py(s.y[i]), 3.0, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);
  for (size_t k = 0; k < series.size(); ++k) {
    c.set_color(category_color(k));
    cairo_set_line_width(cr, 1.8);
    cairo_move_to(cr, right + 10, ly); cairo_line_to(cr, right + 26, ly); cairo_stroke(cr);
    cairo_arc(cr, right + 18, ly, 3.0, 0, 2 * M_PI); cairo_fill(cr);
    c.set_color({0.15, 0.15, 0.15});
    c.text(right + 30, ly + 3, series[k].name, 9);
    ly += 14;
  }
  c.finish();
}

}  // namespace velofield::plot
