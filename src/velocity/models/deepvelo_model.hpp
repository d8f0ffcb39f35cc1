#pragma once
// DeepVelo (Cui et al. 2024; spec §5): a graph convolutional network on the cell kNN graph predicts
// cell-specific rates β, γ per gene, velocity v = β ⊙ u + γ ⊙ s, trained full-batch on the
// continuity ("MLE") loss over each cell's neighbours plus the per-gene Pearson direction loss.
// Distributed by the cells' row blocks: each graph layer exchanges the hidden rows of the halo
// (deepvelo_halo.hpp, differentiable), the direction loss's per-gene sums are one all-reduce in the
// forward pass, and the parameter gradients one all-reduce per step; dropout masks are keyed by
// (seed, step, layer, global cell), so every rank count trains the same model.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace velofield::models {

struct DeepveloInput {
  int64_t n_cells = 0, begin = 0, end = 0, n_genes = 0;   // this rank owns cells [begin, end)
  std::vector<float> u, s;   // this rank's rows of M_u and M_s, row-major (end − begin) × n_genes
  // This rank's rows of the kNN distance graph (obsp/distances), CSR, global column indices.
  std::vector<int64_t> knn_indptr, knn_cols;
  std::vector<double> knn_distances;
};

struct DeepveloOptions {
  uint64_t seed = 0;
  int64_t epochs = 100;                 // full-batch: one optimizer step per epoch
  double lr = 1e-3;                     // Adam(amsgrad), StepLR(1, lr_decay)
  double lr_decay = 0.97;
  std::vector<int64_t> hidden = {64, 64};
  double dropout = 0.2;
  int64_t top_g = 20;                   // graph: self + top_g − 1 nearest
  int64_t top_c = 30;                   // loss: top_c − 1 nearest
  double pearson_scale = 18;
  double coeff_u = 1, coeff_s = 1;
  int64_t chunk_elements = 1 << 25;     // bound of the loss's [cells, neighbours, genes] block
  bool double_precision = false;        // float64 network (tests); DeepVelo trains in float32
  std::string source;                   // the input file, for messages
};

struct DeepveloFit {
  std::vector<float> beta, gamma, velocity;   // this rank's rows, row-major n_local × n_genes (eval mode)
  std::vector<double> loss, mle, direction;   // per step, global (the step's training forward pass)
  std::vector<std::pair<std::string, std::vector<double>>> weights;   // the trained parameters, flattened
  int64_t steps = 0;
};

// Collective.
DeepveloFit fit_deepvelo(MPI_Comm comm, const DeepveloInput& in, const DeepveloOptions& options);

}  // namespace velofield::models
