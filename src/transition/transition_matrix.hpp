#pragma once
// dynamo's cell-to-cell transition matrix (cell_velocities with method pearson / cosine), built
// distributed: each rank scores its own cells against their neighbourhoods; the expressions of
// neighbours on other ranks arrive by one halo exchange of exactly the rows needed.
//
// For cell i with transformed velocity v~ and neighbours j in N(i) (transition genes only):
//   ρ_ij = similarity(v~, d~_ij) with d~_ij the transformed displacement M_s[j] − M_s[i];
//   c_i = max_j max(ρ_ij, 0);  ub = the 98th percentile of c over all cells (numpy's linear rule);
//   T_ij = sign(ρ_ij) · expm1(|ρ_ij| / 0.1), the diagonal expm1(clip(ub − c_i, 0, 1) / 0.1);
//   each row divided by its sum of |T_ij| (diagonal included); then the diagonal and zeros dropped.
// So T is signed and its rows sum to less than 1 in absolute value, exactly as dynamo's.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/dist_matrix.hpp"
#include "transition_similarity.hpp"

namespace velofield {

struct TransitionMatrixOptions {
  kernels::SimilarityMeasure measure = kernels::SimilarityMeasure::pearson;
  kernels::SimilarityTransform transform = kernels::SimilarityTransform::sqrt;
  std::string ekey = "M_s";          // expression layer (dynamo's ekey)
  std::string vkey = "velocity_S";   // velocity layer (dynamo's vkey)
  std::string graph = "distances";   // obsp with the kNN distances
  int64_t n_neighbors = 30;          // kNN row length, the cell itself included
  int hops = 2;                      // dynamo's n_recurse_neighbors
  double sigma = 0.1;                // dynamo's fixed kernel width
  int64_t halo_chunk_bytes = int64_t(256) << 20;   // expressions of other ranks held at once
};

// What happened, per rank unless said otherwise (the stage reports max / sum over ranks).
struct TransitionMatrixReport {
  int64_t genes = 0;
  int64_t table_rows = 0, halo_rows = 0;        // expression rows used: all, and those from other ranks
  int64_t passes = 1;                           // over the rank's cells: its own rows, then one per halo chunk
  int64_t bytes_received = 0;                   // kNN rows + expression rows from other ranks
  int64_t entries = 0;                          // stored entries of the local rows of T
  int64_t empty_rows = 0;                       // local cells without transitions
  double upper_bound = 0;                       // ub (global)
  double seconds_neighborhoods = 0, seconds_halo = 0, seconds_kernel = 0, seconds_assembly = 0;   // halo: checks + fetches
  double cpu_seconds_kernel = 0;                // CPU time of the kernel passes (wall time counts waiting too)
  bool single_precision = false;                // the expression layer is float32, and so is the table
};

// Collective. `genes`: the transition genes (var indices). Throws velofield::Error, agreed on all
// ranks, for a missing or malformed graph or layer, and for NaN/Inf in the genes used.
DistMatrix transition_matrix(const Dataset& dataset, const std::vector<int64_t>& genes, const TransitionMatrixOptions& options,
                             TransitionMatrixReport& report);

}  // namespace velofield
