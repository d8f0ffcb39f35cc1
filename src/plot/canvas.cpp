#include "plot/canvas.hpp"

#include <cairo-pdf.h>
#include <cairo-svg.h>

#include <cmath>
#include <cstdio>

#include "core/error.hpp"

namespace velofield::plot {

Rgb Rgb::hex(const std::string& code) {
  unsigned r = 0, g = 0, b = 0;
  if (code.size() < 7 || code[0] != '#' || std::sscanf(code.c_str() + 1, "%02x%02x%02x", &r, &g, &b) != 3)
    throw Error("colour '" + code + "': expected #rrggbb");
  return {r / 255.0, g / 255.0, b / 255.0};
}

Rgb category_color(size_t i) {
  static const char* kTab20[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                 "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                 "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};
  return Rgb::hex(kTab20[i % 20]);
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

Canvas::Canvas(std::string path, double width_pt, double height_pt, double dpi)
    : path_(std::move(path)), width_(width_pt), height_(height_pt) {
  const size_t slash = path_.find_last_of('/');
  tmp_ = (slash == std::string::npos ? std::string() : path_.substr(0, slash + 1)) + "." +
         (slash == std::string::npos ? path_ : path_.substr(slash + 1)) + ".partial";
  if (ends_with(path_, ".svg")) {
    surface_ = cairo_svg_surface_create(tmp_.c_str(), width_pt, height_pt);
  } else if (ends_with(path_, ".pdf")) {
    surface_ = cairo_pdf_surface_create(tmp_.c_str(), width_pt, height_pt);
  } else if (ends_with(path_, ".png")) {
    png_ = true;
    const double scale = dpi / 72.0;
    surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(std::lround(width_pt * scale)),
                                          static_cast<int>(std::lround(height_pt * scale)));
    if (cairo_surface_status(surface_) == CAIRO_STATUS_SUCCESS) cairo_surface_set_device_scale(surface_, scale, scale);
  } else {
    throw Error(path_ + ": unknown figure format; use .png, .svg or .pdf");
  }
  if (cairo_surface_status(surface_) != CAIRO_STATUS_SUCCESS)
    throw Error(path_ + ": cannot create the figure (" + cairo_status_to_string(cairo_surface_status(surface_)) + ")");
  cr_ = cairo_create(surface_);
  cairo_set_antialias(cr_, CAIRO_ANTIALIAS_BEST);
  set_color({1, 1, 1});
  cairo_paint(cr_);
}

Canvas::~Canvas() {
  if (cr_) cairo_destroy(cr_);
  if (surface_) cairo_surface_destroy(surface_);
  if (!finished_) std::remove(tmp_.c_str());
}

void Canvas::set_color(const Rgb& c, double alpha) { cairo_set_source_rgba(cr_, c.r, c.g, c.b, alpha); }

double Canvas::text_width(const std::string& s, double size, bool bold) {
  cairo_select_font_face(cr_, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr_, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr_, s.c_str(), &e);
  return e.x_advance;
}

void Canvas::text(double x, double y, const std::string& s, double size, Anchor anchor, bool bold, double angle) {
  const double w = text_width(s, size, bold);
  cairo_save(cr_);
  cairo_translate(cr_, x, y);
  cairo_rotate(cr_, angle);
  const double dx = anchor == Anchor::left ? 0 : anchor == Anchor::center ? -w / 2 : -w;
  cairo_move_to(cr_, dx, 0);
  cairo_show_text(cr_, s.c_str());
  cairo_restore(cr_);
}

void Canvas::finish() {
  cairo_surface_flush(surface_);
  cairo_status_t status = CAIRO_STATUS_SUCCESS;
  if (png_) status = cairo_surface_write_to_png(surface_, tmp_.c_str());
  cairo_destroy(cr_);
  cr_ = nullptr;
  cairo_surface_finish(surface_);
  if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface_);
  cairo_surface_destroy(surface_);
  surface_ = nullptr;
  if (status != CAIRO_STATUS_SUCCESS) {
    std::remove(tmp_.c_str());
    throw Error(path_ + ": cannot write the figure (" + cairo_status_to_string(status) + ")");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) throw Error(path_ + ": cannot write the figure (rename failed)");
  finished_ = true;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::fabs(t) < step * 1e-12 ? 0.0 : t);
  return ticks;
}

std::string tick_label(double v) {
  char b[32];
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) std::snprintf(b, sizeof b, "%.0e", v);
  else std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace velofield::plot
