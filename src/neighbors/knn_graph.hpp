#pragma once
// The inputs and outputs of a distributed k-nearest-neighbour search: every rank holds the points
// of its own cells (a contiguous block of global indices) and ends with the neighbours of those
// cells only. No rank ever holds all points, and nothing is N × N.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "core/partition.hpp"

namespace velofield {

struct KnnPoints {
  MPI_Comm comm = MPI_COMM_WORLD;
  BlockPartition partition;        // which global cells each rank holds
  int dim = 0;
  std::vector<double> local;       // this rank's cells, n_local × dim, row-major
  int64_t n_local() const { return dim > 0 ? static_cast<int64_t>(local.size()) / dim : 0; }
  int64_t first() const;           // global index of local row 0
};

struct KnnGraph {
  int k = 0;                       // neighbours per cell, the cell itself included (first)
  int64_t n_local = 0;
  std::vector<int64_t> ids;        // n_local × k global indices: [self, nearest other, ...]
  std::vector<double> distances;   // n_local × k Euclidean distances (0 for self), ascending
};

}  // namespace velofield
