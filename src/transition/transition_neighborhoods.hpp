#pragma once
// The neighbourhoods the transition kernel scores, and the table rows they read. Cell i is scored
// against N(i) = {i} ∪ kNN(i) (one hop) or, dynamo's default, the union of {l} ∪ kNN(l) over
// l in {i} ∪ kNN(i) (two hops). Two hops need the kNN rows of remote neighbours: they arrive by
// one halo exchange of k integers per cell (a kNN-of-kNN gather), so no 2-hop pattern is ever
// stored as a matrix: each cell's neighbourhood is rebuilt when it is scored.
//
// Table rows: the rank's cells are rows 0 .. n (in their order: the input layer itself can be
// the table), the cells of other ranks that the neighbourhoods touch follow, numbered in order of
// first use along a breadth-first walk of the local kNN graph. Cells are scored in that walk's
// order, so consecutive cells read mostly the same rows (they stay in cache) whatever the order of
// the cells in the file, and a contiguous range of halo rows serves a contiguous stretch of cells.
#include <cstdint>
#include <vector>

#include "data/dataset.hpp"
#include "transition/cell_index_map.hpp"
#include "transition/knn_table.hpp"

namespace velofield {

class TransitionNeighborhoods {
 public:
  // Collective (the kNN rows of the remote neighbours are exchanged when hops == 2).
  TransitionNeighborhoods(const Dataset& dataset, const KnnTable& knn, int hops);

  const std::vector<int64_t>& order() const { return order_; }          // local cells, in scoring order
  int64_t local_rows() const { return n_local_; }
  int64_t halo_rows() const { return static_cast<int64_t>(halo_cell_.size()); }
  int64_t rows() const { return n_local_ + halo_rows(); }
  // Global cell of a table row.
  int64_t row_cell(int64_t row) const { return row < n_local_ ? first_ + row : halo_cell_[static_cast<size_t>(row - n_local_)]; }
  int64_t knn_bytes_received() const { return knn_bytes_received_; }

  // Appends N(local_cell) to `out` as table rows, each once, in order of discovery (which depends
  // on the kNN table only, not on ranks). `stamp` is caller scratch of rows() entries, initially
  // all -1; it is left marked with local_cell.
  void neighborhood(int64_t local_cell, std::vector<int64_t>& out, std::vector<int64_t>& stamp) const;

 private:
  const int64_t* knn_row_of(int64_t row) const;   // kNN row (table rows) of a row, nullptr if unknown
  int hops_ = 2;
  int64_t k_ = 0, n_local_ = 0, first_ = 0;
  std::vector<int64_t> order_, halo_cell_;
  std::vector<int64_t> knn_slot_;   // table row → slot in knn_rows_, or −1
  std::vector<int64_t> knn_rows_;   // slots × k table rows
  int64_t knn_bytes_received_ = 0;
};

}  // namespace velofield
