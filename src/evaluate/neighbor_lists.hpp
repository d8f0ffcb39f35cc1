#pragma once
// The cell neighbourhoods CBDir and ICCoh average over: the stored graph (obsp connectivities) when
// the file has one, else the exact k nearest neighbours in an embedding. Never an N × N object: a
// list of at most a graph row's worth of global indices per local cell.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct NeighborLists {
  std::vector<int64_t> offsets{0};   // local cell i: ids[offsets[i] .. offsets[i+1])
  std::vector<int64_t> ids;          // global cell indices; never the cell itself
  std::string source;                // for the report
  int64_t size(int64_t i) const { return offsets[static_cast<size_t>(i + 1)] - offsets[static_cast<size_t>(i)]; }
};

// Not collective. Stored entries of obsp[key] with a nonzero weight, the diagonal left out.
NeighborLists neighbors_from_graph(const Dataset& dataset, const std::string& key);

// Not collective. The k nearest cells (Euclidean, ties by index) to each local cell among all
// n_obs points of `points` (n_obs × dim, gathered), the cell itself excluded.
NeighborLists neighbors_from_embedding(const Dataset& dataset, const std::vector<double>& points, int dim, int k,
                                       const std::string& basis_key);

// Collective. All rows of a cell-distributed dense slot, as doubles, on every rank (n_obs × dim).
// Only for narrow slots (embeddings): it is n_obs × dim values per rank.
std::vector<double> gather_dense_rows(const Dataset& dataset, const DenseArray& local);

// Collective. A categorical obs column's codes for every cell, on every rank.
std::vector<int32_t> gather_codes(const Dataset& dataset, const Column& column);

}  // namespace velofield
