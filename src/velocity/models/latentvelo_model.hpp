#pragma once
// LatentVelo (spec §4): the cell-type-annotated VAE whose spliced and unspliced latent states follow a
// neural ODE from a learned root state, decoded linearly to genes. Each training batch is a fixed
// chunk of cells (GCN on the chunk's sub-graph, one ODE solve over the chunk's sorted latent times,
// Pearson regulariser over the chunk), so the data-parallel unit is the chunk: each optimizer step
// takes `chunks_per_step` chunks from the rank-independent global order (global_batches.hpp), rank r
// computes the chunks at positions r, r + P, ... of the step, each chunk's gradient is all-reduced in
// its own slot and the slots are summed in chunk order: the update is bitwise the one a single
// process applies (Adam and the clipping from data_parallel.hpp). The preprocessed inputs stay
// distributed: each rank holds its own block of cells, and a chunk's rows (inputs, mask, cell types
// and graph rows) are fetched from their owners when the chunk is computed (row_exchange.hpp), so no
// rank ever holds more than its block plus the chunks of one step. Declared without torch.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace velofield::models {

struct LatentveloOptions {
  uint64_t seed = 0;
  int64_t latent_dim = 20, zr_dim = 2, h_dim = 2, encoder_hidden = 25;
  int64_t epochs = 50, batch_size = 200, kl_warmup_epochs = 25;
  int64_t chunks_per_step = 2;   // chunks (LatentVelo batches) per optimizer step, whatever the rank count
  double learning_rate = 1e-2, grad_clip = 1000, test_fraction = 0.1;
  double corr_weight_u = 0.1, corr_weight_s = 0.1;
  double rtol = 1e-5, atol = 1e-5;
  int64_t ode_max_steps = 100;
  int64_t inference_samples = 10, inference_chunk = 500;
  bool posterior = true;          // false: train only (tests of the weights)
  bool double_precision = false;  // float64 weights and arithmetic (rank-agreement tests)
  int64_t max_steps = -1;         // stop after this many optimizer steps (-1: all epochs)
  std::string source;             // the input file, for messages
};

struct LatentveloInput {
  int64_t n_cells = 0, n_genes = 0, n_types = 0;
  // This rank's rows [begin, end): the block BlockPartition{n_cells, ranks} gives it. All the
  // per-cell vectors below hold these rows only.
  int64_t begin = 0, end = 0;
  std::vector<float> s, u;                  // row-major [rows × n_genes], normed units (Ms/scale)
  std::vector<uint8_t> mask;                // [rows × n_genes]: 1 where the normalised count s or u is > 0
  std::vector<int32_t> celltype;            // [rows], 0..n_types−1 (n_types 0: no annotation, empty)
  std::vector<uint8_t> velocity_genes;      // per gene (replicated): restricts the correlation regulariser
  std::vector<int64_t> adj_indptr, adj_indices;   // the graph rows of this rank's cells, CSR, global columns
  std::vector<double> adj_weights;
};

struct LatentveloFit {
  // This rank's rows, row-major: gene velocities [rows × genes] (normed units), the latent state
  // z_s [rows × L] and latent velocities [rows × L], latent time [rows].
  std::vector<double> velocity_s, velocity_u, z_s, latent_velocity_s, latent_velocity_u, latent_time;
  std::vector<double> val_ae, val_traj;   // per epoch, per cell over all cells
  int64_t steps = 0, best_epoch = -1, forced_ode_steps = 0;
  std::vector<std::pair<std::string, std::vector<double>>> weights;   // final parameters by name
};

// Collective. Throws velofield::Error naming options.source.
LatentveloFit fit_latentvelo(MPI_Comm comm, const LatentveloInput& input, const LatentveloOptions& options);

}  // namespace velofield::models
