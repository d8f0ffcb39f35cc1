#pragma once
// A drawing surface whose format follows the file name: .png (raster at `dpi`), .svg or .pdf
// (vector). Create, draw with cairo (cr()) and the helpers, then finish(): the file is written to a
// temporary name and renamed, so a failed plot never leaves a half-written figure.
#include <cairo.h>

#include <string>
#include <vector>

namespace velofield::plot {

struct Rgb {
  double r = 0, g = 0, b = 0;
  static Rgb hex(const std::string& code);   // "#1f77b4"; throws on malformed codes
};

// Categorical colours (Tableau 20 order, as matplotlib/scanpy use), cycling past 20.
Rgb category_color(size_t i);

enum class Anchor { left, center, right };

class Canvas {
 public:
  // width/height in points (1/72 inch); PNG pixels = points × dpi / 72.
  Canvas(std::string path, double width_pt, double height_pt, double dpi = 150);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  cairo_t* cr() { return cr_; }
  double width() const { return width_; }
  double height() const { return height_; }
  void set_color(const Rgb& c, double alpha = 1.0);
  void text(double x, double y, const std::string& s, double size, Anchor anchor = Anchor::left, bool bold = false,
            double angle = 0);
  double text_width(const std::string& s, double size, bool bold = false);
  void finish();   // writes the file; throws velofield::Error naming it on failure

 private:
  std::string path_, tmp_;
  double width_, height_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
  bool png_ = false, finished_ = false;
};

// "Nice" axis ticks covering [lo, hi] (about `target` of them).
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
std::string tick_label(double v);

}  // namespace velofield::plot
