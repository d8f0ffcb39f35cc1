#pragma once
// VeloVI (spec §3): a VAE whose decoder gives, per cell and gene, the position along scVelo's
// switching kinetics (ρ in induction, τ in repression) and Dirichlet weights over the four states
// (induction, its steady state, repression, the off state); the per-gene rates α, β, γ and switch
// time are global parameters. Trained data-parallel over cells with trainer.hpp (SyncBatchNorm,
// noise keyed by (step, cell)), then the posterior gives velocity, latent time and directional
// uncertainty per cell. Declared without torch so the `dynamics` method compiles quickly.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace velofield::models {

struct VeloviOptions {
  uint64_t seed = 0;
  int64_t n_hidden = 256;   // the VELOVI wrapper's default (the module's is 128)
  int64_t n_latent = 10;
  double dropout = 0.1;     // encoder only
  // scvi-tools' TrainingPlan/Trainer defaults as VELOVI.train sets them.
  int64_t max_epochs = 500, batch_size = 256, patience = 45, kl_warmup_epochs = 400;
  double learning_rate = 1e-2, weight_decay = 1e-2, adam_eps = 0.01, grad_clip = 10, train_fraction = 0.9;
  int64_t n_samples = 25;             // posterior samples for velocity and (separately) latent time
  int64_t uncertainty_samples = 50;   // posterior samples for the directional uncertainty; 0: none
  bool posterior = true;              // false: train only (tests of the weights)
  // float64 weights and arithmetic instead of PyTorch's float32: shows that a P-rank update equals
  // the one-process update beyond float32 rounding (which normalisation layers amplify).
  bool double_precision = false;
  std::string checkpoint;             // HDF5 training checkpoint; an existing one is resumed from
  int64_t stop_after_epochs = -1, max_steps = -1;   // see TrainerOptions
  std::string source;                 // the input file, for messages
};

struct VeloviInput {
  int64_t n_cells = 0, begin = 0, end = 0, n_genes = 0;   // this rank owns global cells [begin, end)
  std::vector<float> s, u;           // this rank's rows, row-major [(end − begin) × n_genes], min-max scaled
  std::vector<double> u_up, s_up;    // per gene (velovi_genes.hpp)
};

struct VeloviFit {
  // This rank's rows × genes, row-major. velocity: the mean of n_samples posterior velocities,
  // clipped at ≥ −s, in min-max-scaled units (not yet rescaled by t_max/20); latent_time: the mean of
  // another n_samples posterior times (VeloVI's units, t_max = 20).
  std::vector<double> velocity, latent_time;
  std::vector<double> uncertainty;   // this rank's cells: variance over samples of cos(sample, mean)
  std::vector<double> alpha, beta, gamma, switch_time;   // per gene; switch time unclamped, as at output
  std::vector<double> max_time;      // per gene: max over all cells of latent_time
  std::vector<double> epoch_loss, epoch_validation;
  int64_t steps = 0;
  bool early_stopped = false, finished = true;
  int64_t resumed_at_epoch = -1;
  std::vector<std::pair<std::string, std::vector<double>>> weights;   // final parameters and buffers by name
};

// Collective (every rank calls it with its rows). Throws velofield::Error naming options.source.
VeloviFit fit_velovi(MPI_Comm comm, const VeloviInput& input, const VeloviOptions& options);

}  // namespace velofield::models
