#pragma once
// Matching cells by name between two cell-distributed tables (a distributed hash join): each name
// travels to the rank its hash picks, the matches travel back. No rank ever holds every name, so it
// scales with the cells like the rest of the Dataset.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace velofield {

constexpr int64_t kNameAbsent = -1;       // no row of `have` carries the name
constexpr int64_t kNameAmbiguous = -2;    // several rows of `have` carry it

// Collective. For each of this rank's `wanted` names: the global row of the same name in `have`,
// whose rows on this rank start at global row `have_begin`; or kNameAbsent / kNameAmbiguous.
std::vector<int64_t> join_names(MPI_Comm comm, const std::vector<std::string>& wanted, const std::vector<std::string>& have,
                                int64_t have_begin);

}  // namespace velofield
