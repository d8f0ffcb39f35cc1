#include "transition/cell_index_map.hpp"

#include <cstddef>

namespace velofield {

void CellIndexMap::reserve(int64_t expected) {
  uint64_t capacity = 16;
  while (capacity < static_cast<uint64_t>(expected) * 2) capacity *= 2;
  if (capacity <= keys_.size()) return;
  std::vector<int64_t> old_keys = std::move(keys_), old_rows = std::move(rows_);
  keys_.assign(capacity, -1);
  rows_.assign(capacity, -1);
  mask_ = capacity - 1;
  size_ = 0;
  for (std::size_t s = 0; s < old_keys.size(); ++s)
    if (old_keys[s] >= 0) insert(old_keys[s], old_rows[s]);
}

int64_t CellIndexMap::insert(int64_t cell, int64_t row) {
  if (static_cast<uint64_t>(size_ + 1) * 2 > keys_.size()) reserve(size_ + 1);
  for (uint64_t s = slot(cell);; s = (s + 1) & mask_) {
    if (keys_[s] == cell) return rows_[s];
    if (keys_[s] < 0) {
      keys_[s] = cell;
      rows_[s] = row;
      ++size_;
      return row;
    }
  }
}

}  // namespace velofield
