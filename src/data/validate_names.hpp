#pragma once
#include "data/dataset.hpp"

namespace velofield {
// Collective. Throws on every rank, naming the file and the obs/var index, when the dataset has no
// cells or no genes, or when a cell name or a gene name occurs twice: names are how velofield
// joins files (import-velocity), picks genes (jacobian genes, plots) and reports cells, so a
// repeated one would silently pick one of its rows.
void validate_names(const Dataset& dataset);
}  // namespace velofield
