#pragma once
// Exact k-nearest-neighbour search, one block of reference points at a time: the caller passes
// the point blocks of every rank through and the running lists end exact, without an N × N
// distance matrix. Kokkos-free header; the functor is in knn_tile_functor.hpp.
#include <cstdint>

namespace velofield::kernels {

// Running neighbour lists of n_queries points. Row q of best_dist2 / best_ids (k entries each)
// holds the k smallest squared Euclidean distances seen so far, ascending, equal distances in
// ascending id order, so the final lists do not depend on the order the blocks arrive in;
// empty slots hold +inf / -1. This call merges in the n_refs points of `refs` (row-major,
// n_refs × dim), whose global ids are ref_first, ref_first + 1, ...; a reference whose id equals
// the query's id is skipped (a cell is not its own candidate). Squared distances are summed over
// the dimensions in order, in double precision, so the same pair gives the same bits anywhere.
void knn_tile_update(int64_t n_queries, int dim, const double* queries, const int64_t* query_ids, int64_t n_refs,
                     const double* refs, int64_t ref_first, int k, double* best_dist2, int64_t* best_ids);

// Empty lists (+inf / -1) for n_queries rows of k.
void knn_lists_reset(int64_t n_queries, int k, double* best_dist2, int64_t* best_ids);

}  // namespace velofield::kernels
