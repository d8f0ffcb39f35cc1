#include "plot/color_map.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace velofield::plot {

namespace {
// Eleven evenly spaced samples of each map (viridisLite's viridis(11) / inferno(11); Moreland's
// coolwarm), interpolated linearly: the steps are small enough that the ramp stays smooth.
const char* const kViridis[] = {"#440154", "#482576", "#414487", "#35608d", "#2a788e", "#21908c",
                                "#22a884", "#43bf71", "#7ad151", "#bbdf27", "#fde725"};
const char* const kInferno[] = {"#000004", "#160b39", "#420a68", "#6a176e", "#932667", "#bc3754",
                                "#dd513a", "#f37819", "#fca50a", "#f6d746", "#fcffa4"};
const char* const kCoolwarm[] = {"#3b4cc0", "#5977e3", "#7b9ff9", "#9ebeff", "#c0d4f5", "#dddcdc",
                                 "#f2cbb7", "#f7ac8e", "#ee8468", "#d65244", "#b40426"};
}  // namespace

ColorMap color_map_named(const std::string& name) {
  if (name == "viridis") return ColorMap::viridis;
  if (name == "inferno") return ColorMap::inferno;
  if (name == "coolwarm") return ColorMap::coolwarm;
  throw Error("colour map '" + name + "': unknown (known: viridis, inferno, coolwarm)");
}

Rgb color_map_at(ColorMap map, double t) {
  if (!std::isfinite(t)) return {0.75, 0.75, 0.75};
  const char* const* table = map == ColorMap::viridis ? kViridis : map == ColorMap::inferno ? kInferno : kCoolwarm;
  const double s = std::clamp(t, 0.0, 1.0) * 10.0;
  const int k = std::min(9, static_cast<int>(std::floor(s)));
  const double f = s - k;
  const Rgb a = Rgb::hex(table[k]), b = Rgb::hex(table[k + 1]);
  return {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

}  // namespace velofield::plot
