#pragma once
// The pixels of a PNG (read with cairo), for the plot tests: size, colours, counts.
#include <cairo.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "plot/canvas.hpp"

namespace velofield::test {

struct Pixel {
  int r = 0, g = 0, b = 0;
};

struct Pixels {
  int width = 0, height = 0;
  std::vector<Pixel> data;   // row-major; the figures are opaque, so premultiplication is moot
  const Pixel& at(int x, int y) const { return data[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)]; }
};

inline Pixels read_png(const std::string& path) {
  Pixels p;
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return p;
  }
  cairo_surface_flush(s);
  p.width = cairo_image_surface_get_width(s);
  p.height = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* bytes = cairo_image_surface_get_data(s);
  p.data.resize(static_cast<size_t>(p.width) * static_cast<size_t>(p.height));
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x) {
      uint32_t v;
      std::memcpy(&v, bytes + static_cast<size_t>(y) * static_cast<size_t>(stride) + 4 * static_cast<size_t>(x), 4);
      p.data[static_cast<size_t>(y) * static_cast<size_t>(p.width) + static_cast<size_t>(x)] = {static_cast<int>((v >> 16) & 255),
                                                                                                static_cast<int>((v >> 8) & 255),
                                                                                                static_cast<int>(v & 255)};
    }
  cairo_surface_destroy(s);
  return p;
}

// Within `tolerance` (per channel, 0-255) of an Rgb colour.
inline bool close_to(const Pixel& p, const plot::Rgb& c, int tolerance) {
  return std::abs(p.r - static_cast<int>(std::lround(c.r * 255))) <= tolerance &&
         std::abs(p.g - static_cast<int>(std::lround(c.g * 255))) <= tolerance &&
         std::abs(p.b - static_cast<int>(std::lround(c.b * 255))) <= tolerance;
}

// Dark grey to black: streamlines, arrowheads, text (every category colour of the palettes is lighter).
inline bool dark(const Pixel& p, int limit = 80) { return p.r < limit && p.g < limit && p.b < limit; }

}  // namespace velofield::test
