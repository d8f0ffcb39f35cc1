#pragma once
// Fetches rows of a cell-distributed table by global cell index from the ranks that own them (the
// halo of a neighbour graph). Collective; only the requested rows travel, never the whole table.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/partition.hpp"

namespace velofield {

// `needed`: global row indices this rank wants, sorted and unique. `pack(local_row, out)` writes
// `width` floats of one of this rank's rows. Returns needed.size() × width floats, in the order of
// `needed`. Every rank must call it the same number of times.
std::vector<float> fetch_rows(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                              int64_t width, const std::function<void(int64_t, float*)>& pack);
// The same in double precision (values that must cross ranks without rounding, e.g. the
// normalised expression that moments average).
std::vector<double> fetch_rows(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                               int64_t width, const std::function<void(int64_t, double*)>& pack);
// The same for integer rows (neighbour lists: the kNN rows of the halo cells).
std::vector<int64_t> fetch_rows(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                                int64_t width, const std::function<void(int64_t, int64_t*)>& pack);

}  // namespace velofield
