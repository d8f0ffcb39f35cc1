#pragma once
// The global sequence of minibatches, identical on every rank and for every rank count: the
// train/validation split and each epoch's order are sorts of the global cell indices by a hash of
// (seed, epoch, cell). A rank then computes the loss of the cells of each global batch it owns.
#include <cstdint>
#include <vector>

namespace velofield::models {

struct CellSplit {
  std::vector<int64_t> train;        // global cell indices, ascending
  std::vector<int64_t> validation;   // global cell indices, ascending
};

// scvi-tools' split: n_train = ceil(train_fraction · n), the rest validation (chosen by hash).
CellSplit split_cells(int64_t n_cells, double train_fraction, uint64_t seed);

// The epoch's global batches of `cells` (batch_size each, the last one shorter). A trailing batch of
// one cell is dropped: batch statistics of one cell are undefined (PyTorch's BatchNorm refuses it).
std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& cells, int64_t batch_size, uint64_t seed,
                                                int64_t epoch);

// The cells of `batch` in [begin, end) (this rank's rows), ascending.
std::vector<int64_t> owned_cells(const std::vector<int64_t>& batch, int64_t begin, int64_t end);

}  // namespace velofield::models
