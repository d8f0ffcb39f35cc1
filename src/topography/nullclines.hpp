#pragma once
// Nullclines of a 2-D field: the curves f_x = 0 (NCx) and f_y = 0 (NCy), traced by marching
// squares on an n × n grid over the domain (one batched evaluation of f), chained into polylines
// and each vertex refined onto the curve by Newton projection with the analytic gradient.
// dynamo continues four curves from every fixed point with random tangents (spec 6.4), which only
// finds the pieces that pass through a fixed point and is not reproducible; the grid finds every
// piece wider than a grid cell, deterministically.
//
// The same pass also returns the grid cells where an f_x = 0 segment crosses an f_y = 0 segment:
// every transversal root of f lies in such a cell, so these crossings are near-exhaustive starts
// for the root search (dynamo intersects its polylines for the same purpose).
#include <array>
#include <cstdint>
#include <vector>

#include "topography/field_function.hpp"

namespace velofield {

struct Box2 {
  std::array<double, 2> lo{}, hi{};
};

struct Nullclines {
  std::vector<std::vector<double>> x_curves, y_curves;   // polylines, points × 2 (f_x = 0, f_y = 0)
  std::vector<double> crossings;                         // k × 2: where an NCx piece crosses an NCy piece
  int64_t grid_points = 0;
};

Nullclines trace_nullclines(const FieldFunction& field, const Box2& box, int64_t points_per_axis);

}  // namespace velofield
