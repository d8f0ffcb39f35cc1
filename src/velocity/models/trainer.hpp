#pragma once
// Data-parallel minibatch training over MPI, exact with respect to the rank count: the global
// batches come from global_batches.hpp, each rank sums the loss of the batch cells it owns, the
// gradients are summed over ranks (data_parallel.hpp) and divided by the global batch size, so every
// replica applies the update one process would apply to the whole batch. Early stopping reads the
// validation loss summed over all ranks; the state goes to an HDF5 checkpoint after each epoch and a
// run that finds one resumes from it.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "velocity/models/data_parallel.hpp"

namespace velofield::models {

struct StepContext {
  int64_t epoch = 0;
  int64_t step = 0;        // global optimizer step (0-based), the key of per-step noise
  bool training = true;
};

class TrainableModel {
 public:
  virtual ~TrainableModel() = default;
  virtual std::vector<torch::Tensor> trainable() = 0;
  // Every parameter and buffer by a stable name: broadcast at start, saved in checkpoints.
  virtual NamedTensors state() = 0;
  virtual void set_training(bool on) = 0;
  // Σ over `cells` (global indices, all owned by this rank, possibly none) of the per-cell loss.
  // Collective when the model has synchronised layers: every rank calls it for every batch.
  virtual torch::Tensor cells_loss(const std::vector<int64_t>& cells, const StepContext& ctx) = 0;
  // The monitored validation metric, summed over `cells` (eval mode, no gradient).
  virtual torch::Tensor validation_loss(const std::vector<int64_t>& cells, const StepContext& ctx) {
    return cells_loss(cells, ctx);
  }
  // A term of the parameters alone (not averaged over cells), added once per step; undefined: none.
  virtual torch::Tensor global_loss(const StepContext&) { return {}; }
};

struct TrainerOptions {
  std::string name = "model";    // log prefix
  uint64_t seed = 0;
  int64_t max_epochs = 500;
  int64_t batch_size = 256;
  double train_fraction = 0.9;   // the rest is validation; 1: no validation, no early stopping
  int64_t patience = 45;         // epochs without a strict decrease of the validation loss
  double grad_clip = 10;         // global L2 norm; 0: none
  AdamOptions adam;
  std::string checkpoint;        // HDF5 path; "": none. An existing file is resumed from.
  int64_t stop_after_epochs = -1;   // leave after this many epochs of this run, as a killed job would
  int64_t max_steps = -1;           // stop after this many optimizer steps in all (-1: no limit)
  std::string source;               // the input file, for messages
};

struct EpochRecord {
  double loss = 0;          // mean over the epoch's steps of the global batch loss
  double validation = 0;    // global validation loss per validation cell (NaN without validation)
  double seconds = 0;
};

struct TrainResult {
  std::vector<EpochRecord> history;   // every epoch, including those of a resumed run's earlier part
  int64_t steps = 0;
  bool early_stopped = false;
  bool finished = true;               // false when stop_after_epochs cut the run short
  int64_t resumed_at_epoch = -1;      // -1: fresh start
};

// Collective. Cells are global indices 0..n_cells-1; this rank owns [begin, end).
TrainResult train_data_parallel(TrainableModel& model, MPI_Comm comm, int64_t n_cells, int64_t begin, int64_t end,
                                const TrainerOptions& options);

}  // namespace velofield::models
