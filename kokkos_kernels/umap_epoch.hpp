#pragma once
// One epoch of UMAP's layout optimisation (fuzzy-set cross-entropy, SGD with negative sampling),
// for the cells of one rank. Every cell moves itself: it walks its own edges in order, pulled
// towards each sampled neighbour and pushed away from random cells, reading every other cell
// from the snapshot of the embedding taken at the start of the epoch. So the cells of an epoch
// are independent (a parallel loop, no write conflicts) and a cell's new position depends only
// on the snapshot and on random numbers keyed by (seed, epoch, cell): the layout is the same at
// any rank count. Kokkos-free header; the functor is in umap_epoch_functor.hpp.
#include <cstdint>

namespace velofield::kernels {

struct UmapEpochParams {
  double a = 1.577, b = 0.895;        // the low-dimensional kernel 1 / (1 + a d^(2b))
  double gamma = 1.0;                 // repulsion strength
  double alpha = 1.0;                 // learning rate of this epoch
  int epoch = 0;                      // 0-based
  uint64_t seed = 0;
  int64_t n_vertices = 0;             // all cells (the snapshot's rows)
  int64_t first_vertex = 0;           // global index of local row 0
  int dim = 2;
};

// The layout optimisation of one rank's cells, with its edges and per-edge schedules kept in
// the execution space's memory across epochs (on a GPU they are copied once, not every epoch).
// rows: local cells; indptr/tails: their edges (tails are global cell indices) with
// epochs_per_sample (<= 0: never sampled). An edge is sampled when its next-sample epoch is
// <= the epoch; each sample pulls the cell towards the neighbour twice (once for each direction
// of the symmetric edge, as UMAP's move_other does; both with the gradient coefficient at the
// starting distance) and pushes it from as many random cells as the negative-sampling schedule
// says (up to 8 pushes from the same position at a time). Single precision, powers by fast_pow.
// Gradients are clipped to +-4 per coordinate, as in UMAP.
class UmapEpochs {
 public:
  UmapEpochs(int64_t rows, const int64_t* indptr, const int64_t* tails, const double* epochs_per_sample,
             double negative_sample_rate);
  ~UmapEpochs();
  UmapEpochs(const UmapEpochs&) = delete;
  UmapEpochs& operator=(const UmapEpochs&) = delete;
  // One epoch. snapshot: n_vertices x dim (every other cell as the cells see it: its position at
  // the last exchange); embedding: rows x dim, the local cells, updated in place. dim <= 8.
  void run(const UmapEpochParams& params, const float* snapshot, float* embedding);

 private:
  struct Impl;
  Impl* impl_;
};

// The counter-based generator behind the negative samples, exposed for tests: a uniform 64-bit
// value from (seed, epoch, cell, draw).
uint64_t umap_random(uint64_t seed, int64_t epoch, int64_t cell, int64_t draw);

}  // namespace velofield::kernels
