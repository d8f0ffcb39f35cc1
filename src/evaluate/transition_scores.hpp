#pragma once
// Cluster-level direction metrics from VeloAE (Qiao et al., PNAS 2021), as UniTVelo (Gao et al.,
// Nat Commun 2022) also reports them:
//  CBDir (cross-boundary direction correctness), per known transition A > B: for each cell of A
//    with neighbours in B, the mean cosine between its embedding velocity and the displacements
//    x_j − x_i to those neighbours; averaged over such cells, then over transitions.
//  ICCoh (in-cluster coherence), per cluster C: for each cell of C with neighbours in C, the mean
//    cosine between its velocity and theirs (gene space); averaged over such cells, then over
//    clusters.
// Cosines skip non-finite entries and are 0 for a zero vector (sklearn's convention).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/partition.hpp"
#include "data/matrix.hpp"
#include "evaluate/neighbor_lists.hpp"

namespace velofield {

struct GroupScore {
  std::string name;     // "A>B" or the cluster
  int64_t cells = 0;    // cells that had at least one qualifying neighbour
  double score = 0;     // mean over those cells; NaN when there are none
};

// Mean of the groups' scores over groups with cells (NaN when none).
double mean_over_groups(const std::vector<GroupScore>& groups);

// Collective. `codes`: cluster code of every cell (global); `transitions`: (from, to) codes with
// their display names; `positions`: the embedding of every cell (n_obs × dim); `velocity`: the
// rank's rows of the embedding velocity (n_local × dim).
std::vector<GroupScore> cross_boundary_direction(MPI_Comm comm, int64_t obs_begin, const std::vector<int32_t>& codes,
                                                 const std::vector<std::pair<int32_t, int32_t>>& transitions,
                                                 const std::vector<std::string>& names, const NeighborLists& neighbors,
                                                 const std::vector<double>& positions, const DenseArray& velocity);

// Collective. `velocity`: the rank's rows of the gene-space velocity; neighbours' rows are fetched
// from their owners in blocks of at most `max_block_bytes` of fetched rows.
std::vector<GroupScore> in_cluster_coherence(MPI_Comm comm, const BlockPartition& partition, int64_t obs_begin,
                                             const std::vector<int32_t>& codes, const std::vector<std::string>& categories,
                                             const NeighborLists& neighbors, const Matrix& velocity,
                                             int64_t max_block_bytes = int64_t{256} << 20);

}  // namespace velofield
