#pragma once
// Latin-hypercube starts in a box (dynamo's sampling of initial points, spec 6.2): each axis is cut
// into n strata, one uniform draw per stratum, strata shuffled independently per axis. Seeded with
// counter-based numbers, so every rank draws the same points.
#include <cstdint>
#include <vector>

namespace velofield {

// n × dim points, row-major, in [lo, hi] per axis.
std::vector<double> latin_hypercube(int64_t n, const std::vector<double>& lo, const std::vector<double>& hi, uint64_t seed);

}  // namespace velofield
