#pragma once
// Small per-rank vectors joined on every rank. Only for objects that are small by construction
// (fixed points, grids, per-rank summaries, uns copies below a size cap): never cells × cells.
#include <mpi.h>

#include <vector>

namespace velofield {

// Collective. Every rank's `local`, concatenated in rank order, on every rank.
std::vector<double> gather_concat(MPI_Comm comm, const std::vector<double>& local);

}  // namespace velofield
