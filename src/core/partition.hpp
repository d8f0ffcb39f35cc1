#pragma once
// Contiguous block partition of n items over p ranks: the first n % p ranks get one extra.
#include <algorithm>
#include <cstdint>

namespace velofield {

struct BlockPartition {
  int64_t total = 0;
  int ranks = 1;

  int64_t begin(int rank) const {
    const int64_t base = total / ranks, extra = total % ranks;
    return rank * base + std::min<int64_t>(rank, extra);
  }
  int64_t end(int rank) const { return begin(rank + 1); }
  int64_t size(int rank) const { return end(rank) - begin(rank); }
  int owner(int64_t index) const {
    const int64_t base = total / ranks, extra = total % ranks;
    const int64_t cut = extra * (base + 1);
    if (index < cut) return static_cast<int>(index / (base + 1));
    return static_cast<int>(extra + (index - cut) / std::max<int64_t>(base, 1));
  }
};

}  // namespace velofield
