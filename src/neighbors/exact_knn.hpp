#pragma once
// Exact k nearest neighbours by brute force in tiles: the tiled distance + running top-k kernel
// (kokkos_kernels/knn_tile) applied to every pair of rank blocks as the query blocks travel the
// ring. Cost N² · dim / ranks flops per rank, memory O(N/ranks · (dim + k)). Distances are
// computed the same way wherever a pair meets and ties are broken by cell index, so the lists are
// identical at any rank count.
#include "neighbors/knn_graph.hpp"
#include "neighbors/knn_ring.hpp"

namespace velofield {

// Collective. The k nearest cells of each local cell (k includes the cell itself, listed first;
// the others ascending by distance, equal distances by index). Requires k <= number of cells.
KnnGraph exact_knn(const KnnPoints& points, int k);

// Collective. Exact lists of k - 1 other cells for arbitrary query points (ids: their global
// cell indices, which are excluded from their own lists), searched over all cells' points.
// Used to measure the recall of an approximate search on a sample of cells.
QueryLists exact_lists_for(const KnnPoints& points, int k, std::vector<double> query_points, std::vector<int64_t> query_ids);

// The graph from finished running lists of k - 1 other cells each: self first, distances
// square-rooted. Not collective.
KnnGraph graph_from_lists(const QueryLists& lists, int k);

// The search of one rank's points by brute force, for ring_search.
LocalSearch brute_force_search(const KnnPoints& points);

}  // namespace velofield
