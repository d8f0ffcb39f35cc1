#pragma once
// The kNN table the transition kernels walk (dynamo's cell_velocities, when it rebuilds the table
// from obsp['distances']): row i = [i, its stored neighbours nearest first, up to k − 1], padded
// with i. The graph is directed, as dynamo's kNN is: j in the row of i says nothing about i in j's.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct KnnTable {
  int64_t k = 0;                 // columns, the cell itself included
  std::vector<int64_t> ids;      // n_obs_local × k global cell indices
  const int64_t* row(int64_t local) const { return ids.data() + local * k; }
};

// Collective (errors are agreed). obsp[key] must be n_obs × n_obs with finite, non-negative
// distances; entries on the diagonal are ignored; ties in distance go to the lower cell index, so
// the table does not depend on the rank count.
KnnTable knn_table_from_distances(const Dataset& dataset, const std::string& key, int64_t n_neighbors);

}  // namespace velofield
