#include "velocity/models/global_batches.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "velocity/models/keyed_random.hpp"

namespace velofield::models {

namespace {

// `cells` ordered by hash(seed, stream, epoch, cell); ties (astronomically rare) by cell index.
std::vector<int64_t> keyed_order(const std::vector<int64_t>& cells, uint64_t seed, Stream stream, int64_t epoch) {
  std::vector<std::pair<uint64_t, int64_t>> keyed(cells.size());
  for (size_t i = 0; i < cells.size(); ++i)
    keyed[i] = {key_hash(seed, static_cast<uint64_t>(stream), static_cast<uint64_t>(epoch), static_cast<uint64_t>(cells[i])),
                cells[i]};
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> out(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) out[i] = keyed[i].second;
  return out;
}

}  // namespace

CellSplit split_cells(int64_t n_cells, double train_fraction, uint64_t seed) {
  std::vector<int64_t> all(static_cast<size_t>(n_cells));
  for (int64_t i = 0; i < n_cells; ++i) all[static_cast<size_t>(i)] = i;
  const int64_t n_train = std::min<int64_t>(n_cells, static_cast<int64_t>(std::ceil(train_fraction * static_cast<double>(n_cells))));
  const std::vector<int64_t> order = keyed_order(all, seed, Stream::split, 0);
  CellSplit split;
  split.validation.assign(order.begin(), order.begin() + (n_cells - n_train));
  split.train.assign(order.begin() + (n_cells - n_train), order.end());
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& cells, int64_t batch_size, uint64_t seed,
                                                int64_t epoch) {
  const std::vector<int64_t> order = keyed_order(cells, seed, Stream::shuffle, epoch);
  std::vector<std::vector<int64_t>> batches;
  for (size_t b = 0; b < order.size(); b += static_cast<size_t>(batch_size)) {
    const size_t e = std::min(order.size(), b + static_cast<size_t>(batch_size));
    if (e - b < 2 && b > 0) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(b), order.begin() + static_cast<std::ptrdiff_t>(e));
  }
  return batches;
}

std::vector<int64_t> owned_cells(const std::vector<int64_t>& batch, int64_t begin, int64_t end) {
  std::vector<int64_t> out;
  for (int64_t c : batch)
    if (c >= begin && c < end) out.push_back(c);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace velofield::models
