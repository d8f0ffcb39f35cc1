#pragma once
// Approximate k nearest neighbours for atlas-size data: every rank builds an HNSW index
// (hnswlib, header-only, Debian's libhnswlib-dev) over its own cells, and the query blocks
// travel the same ring as the exact search, each rank answering from its index. Building is
// N/ranks insertions per rank; every rank answers all N queries, from an index of N/ranks cells.
// The search list (ef) is chosen for a target recall: on a sample of cells the exact lists are
// computed (the tiled kernel, the same ring), and ef grows by half until the sample's recall reaches
// it. Defaults measured on a simulated 1M-cell X_pca (a 500k-cell index, 30 noisy PCs): M = 16,
// ef_construction = 100 needs ef ≈ 400 for 0.98 (0.68 ms per query); M = 32, ef_construction = 200
// needs ef ≈ 150 (0.37 ms per query) for a build 2.5x longer: less time in all.
#include <cstdint>

#include "neighbors/knn_graph.hpp"

namespace velofield {

struct HnswOptions {
  int m = 32;                  // links per node (hnswlib's M)
  int ef_construction = 200;   // candidate list while building
  int ef_search = 0;           // candidate list while searching; 0: tuned from max(k, 32) up, by
                               // half each step, until target_recall is reached on the sample
  double target_recall = 0.98;
  int max_ef = 1024;           // the tuning stops here (with a warning when the target is not met)
  int64_t sample = 1000;       // cells of the recall sample (0: no tuning, no measurement)
  uint64_t seed = 0;
};

struct ApproxKnnReport {
  int ef = 0;                  // the search list used
  double recall = -1;          // on the sample, for the final lists (-1: not measured)
  int64_t recall_cells = 0;
};

// Collective. k includes the cell itself (listed first), like exact_knn.
KnnGraph approx_knn(const KnnPoints& points, int k, const HnswOptions& options, ApproxKnnReport* report = nullptr);

}  // namespace velofield
