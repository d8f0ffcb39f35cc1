#pragma once
// Gene flags (var.use_for_pca, use_for_dynamics, use_for_transition, highly_variable) read from and
// written to the var table, and per-gene float64 columns.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

// A var column as gene flags: a boolean column, a numeric one (nonzero) or a nullable boolean one
// (missing = false). Throws "FILE: var/NAME: ..." for another kind.
std::vector<uint8_t> gene_flags(const Dataset& dataset, const std::string& column);
// Writes a boolean var column (anndata's bool dtype).
void set_gene_flags(Dataset& dataset, const std::string& column, const std::vector<uint8_t>& flags);
// Writes a float64 var column.
void set_gene_values(Dataset& dataset, const std::string& column, const std::vector<double>& values);

}  // namespace velofield
