#pragma once
// Cell subsetting for a distributed Dataset: keep some of each rank's rows, then move rows between
// ranks so that the contiguous block partition holds again (the first n % p ranks one more row).
// Every cell-indexed slot follows: obs, X, layers, obsm, raw/X, and obsp, which is rebuilt as the
// graph induced on the kept cells (rows and columns renumbered). Cell order is kept.
#include <cstdint>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct SubsetCellsReport {
  int64_t kept = 0;       // cells left (global)
  int64_t removed = 0;    // cells removed (global)
  int64_t obsp_edges_removed = 0;   // obsp entries that pointed at a removed cell (all obsp together)
};

// Collective. keep_local[i] != 0 keeps the rank's local row i (size: dataset.n_obs_local). When no
// cell is removed anywhere, nothing moves and the dataset is left exactly as it was.
SubsetCellsReport subset_cells(Dataset& dataset, const std::vector<uint8_t>& keep_local);

// Collective: the rows move so that `dataset` holds the block partition of its n_obs cells again,
// without removing any (used after something left ranks unbalanced).
void rebalance_cells(Dataset& dataset);

}  // namespace velofield
