#include "transition/knn_table.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.hpp"

namespace velofield {

KnnTable knn_table_from_distances(const Dataset& d, const std::string& key, int64_t n_neighbors) {
  const std::string path = "obsp/" + key;
  std::string problem;
  auto it = d.obsp.find(key);
  if (it == d.obsp.end()) {
    std::string have;
    for (const auto& kv : d.obsp) have += (have.empty() ? "" : ", ") + kv.first;
    problem = describe(d.source, path,
                       "not present (obsp has: " + (have.empty() ? std::string("nothing") : have) +
                           "); the transition matrix needs the kNN distances: run `velofield moments` first");
  } else if (it->second.global_rows() != d.n_obs || it->second.global_cols() != d.n_obs) {
    problem = describe(d.source, path,
                       "expected a " + std::to_string(d.n_obs) + " × " + std::to_string(d.n_obs) + " cell × cell matrix, found " +
                           std::to_string(it->second.global_rows()) + " × " + std::to_string(it->second.global_cols()));
  }
  if (!problem.empty()) throw Error(problem);   // obsp keys and shapes are the same on every rank

  KnnTable table;
  table.k = n_neighbors;
  table.ids.assign(static_cast<size_t>(d.n_obs_local * n_neighbors), 0);
  std::vector<int64_t> indptr, cols;
  std::vector<double> values;
  it->second.local_csr(indptr, cols, values);
  std::vector<std::pair<double, int64_t>> row;
  for (int64_t i = 0; i < d.n_obs_local && problem.empty(); ++i) {
    const int64_t self = d.obs_begin + i;
    row.clear();
    for (int64_t p = indptr[static_cast<size_t>(i)]; p < indptr[static_cast<size_t>(i + 1)]; ++p) {
      const double v = values[static_cast<size_t>(p)];
      const int64_t c = cols[static_cast<size_t>(p)];
      if (!std::isfinite(v) || v < 0) {
        problem = describe(d.source, path,
                           "cell " + std::to_string(self) + " has distance " + std::to_string(v) + " to cell " + std::to_string(c) +
                               "; expected finite, non-negative kNN distances");
        break;
      }
      if (c != self) row.emplace_back(v, c);
    }
    const size_t keep = std::min(row.size(), static_cast<size_t>(n_neighbors - 1));
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(keep), row.end());
    int64_t* out = table.ids.data() + i * n_neighbors;
    out[0] = self;
    for (int64_t c = 1; c < n_neighbors; ++c)
      out[c] = static_cast<size_t>(c - 1) < keep ? row[static_cast<size_t>(c - 1)].second : self;
  }
  agree(d.comm, problem.empty(), problem);
  return table;
}

}  // namespace velofield
