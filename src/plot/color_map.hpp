#pragma once
// Continuous colour maps for values: viridis (the default: perceptually uniform, readable in grey and
// by colour-blind readers), inferno, and coolwarm (diverging, for signed values such as divergence).
#include <string>

#include "plot/canvas.hpp"

namespace velofield::plot {

enum class ColorMap { viridis, inferno, coolwarm };

// "viridis" / "inferno" / "coolwarm"; throws velofield::Error listing the names otherwise.
ColorMap color_map_named(const std::string& name);
// The colour at t ∈ [0, 1] (clamped; NaN gives grey).
Rgb color_map_at(ColorMap map, double t);

}  // namespace velofield::plot
