#pragma once
// Reads a subset of a layer's columns (the transition genes) from one of the rank's rows, whatever
// the layer's layout (CSR or dense) and dtype, in the precision the kernel runs in.
#include <cstdint>
#include <vector>

#include "data/matrix.hpp"

namespace velofield {

class GeneColumns {
 public:
  // `genes`: ascending column indices of `layer` (which must outlive this object).
  GeneColumns(const Matrix& layer, const std::vector<int64_t>& genes);
  int64_t size() const { return static_cast<int64_t>(genes_.size()); }
  // out[0 .. size()): the row's values at `genes` (0 where a CSR row stores nothing).
  template <class T>
  void read(int64_t local_row, T* out) const;

 private:
  const Matrix& layer_;
  std::vector<int64_t> genes_;
  std::vector<int32_t> slot_of_column_;   // CSR: column → position in genes_, or −1
};

}  // namespace velofield
