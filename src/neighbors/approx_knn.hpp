#pragma once
// Approximate k nearest neighbours for atlas-size data: every rank builds an HNSW index
// (hnswlib, header-only, Debian's libhnswlib-dev) over its own cells, and the query blocks
// travel the same ring as the exact search, each rank answering from its index. Building is
// N/ranks insertions per rank; every rank answers all N queries, from an index of N/ranks cells.
#include <cstdint>

#include "neighbors/knn_graph.hpp"

namespace velofield {

struct HnswOptions {
  int m = 16;                  // links per node (hnswlib's M)
  int ef_construction = 100;   // candidate list while building
  int ef_search = 60;          // candidate list while searching (raised to k when smaller)
  uint64_t seed = 0;
};

// Collective. k includes the cell itself (listed first), like exact_knn.
KnnGraph approx_knn(const KnnPoints& points, int k, const HnswOptions& options);

}  // namespace velofield
