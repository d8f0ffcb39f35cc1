#pragma once
#include <string>

#include "data/dataset.hpp"

namespace velofield {
// Collective. anndata's repr ("AnnData object with n_obs × n_vars = 3696 × 2000" and the key
// lists), followed by one line per slot with its kind, dtype, global shape and nonzeros.
std::string summarize(const Dataset& dataset);
}  // namespace velofield
