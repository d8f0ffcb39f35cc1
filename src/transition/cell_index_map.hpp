#pragma once
// Global cell index → row of a halo table, for the few hundred thousand remote cells a rank
// touches: open addressing with linear probing (a std::unordered_map costs an allocation per
// entry and several times the memory). Never sized by the total number of cells.
#include <cstdint>
#include <vector>

namespace velofield {

class CellIndexMap {
 public:
  explicit CellIndexMap(int64_t expected = 0) { reserve(expected); }
  void reserve(int64_t expected);
  // The row of `cell`, or -1.
  int64_t find(int64_t cell) const {
    if (keys_.empty()) return -1;
    for (uint64_t s = slot(cell);; s = (s + 1) & mask_) {
      if (keys_[s] == cell) return rows_[s];
      if (keys_[s] < 0) return -1;
    }
  }
  // Inserts cell → row unless present; returns the row stored for `cell`.
  int64_t insert(int64_t cell, int64_t row);
  int64_t size() const { return size_; }

 private:
  uint64_t slot(int64_t cell) const {
    return (static_cast<uint64_t>(cell) * 0x9E3779B97F4A7C15ULL >> 17) & mask_;
  }
  std::vector<int64_t> keys_, rows_;   // keys_ < 0: empty slot
  uint64_t mask_ = 0;
  int64_t size_ = 0;
};

}  // namespace velofield
