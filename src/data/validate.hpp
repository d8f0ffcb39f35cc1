#pragma once
#include <string>

#include "data/dataset.hpp"

namespace velofield {
// Collective. Checks that layer `name` ("X" for X) holds counts: no NaN/Inf, no negatives. Throws
// on every rank, naming the file, the layer, the first offending cell and what was found.
// Non-integer values are allowed (some pipelines hand in ambient-corrected counts) but reported.
void validate_counts(const Dataset& dataset, const std::string& name);
}  // namespace velofield
