#pragma once
// Separatrices of a 2-D field: the stable manifolds of its saddles, the curves that split the
// basins of attraction. Each is integrated backward in time (along −f) from the saddle, leaving it
// by a tiny offset along the stable eigenvector in both directions, and followed in arclength
// (direction −f/|f|, classical RK4) so that the slow flow near fixed points costs no extra steps.
// A branch stops when it leaves the domain, when the backward flow reverses (it reached a source
// of f, a sink of −f), or at a length cap. dynamo stores None here (spec 6.6); this is the
// algorithm the spec describes for a port that computes them.
#include <cstdint>
#include <vector>

#include "topography/field_function.hpp"
#include "topography/nullclines.hpp"

namespace velofield {

struct SeparatrixOptions {
  double step = 0;         // arclength step (absolute); 0: 1/500 of the domain's diagonal
  double max_length = 0;   // per branch; 0: 2 × (x range + y range)
  double offset = 0;       // first point's distance from the saddle; 0: 1e-6 × the domain's diagonal
};

// One polyline per saddle (both branches joined through the saddle; empty when the saddle has no
// real stable direction), points × 2. saddles: n × 2; jacobians: n × 2 × 2 (row-major). All
// branches advance together: each RK4 stage is one batched field evaluation.
std::vector<std::vector<double>> separatrices(const FieldFunction& field, const std::vector<double>& saddles,
                                              const std::vector<double>& jacobians, const Box2& box,
                                              const SeparatrixOptions& options);

}  // namespace velofield
