#include "transition/transition_neighborhoods.hpp"

#include <algorithm>
#include <deque>

#include "data/row_exchange.hpp"

namespace velofield {

TransitionNeighborhoods::TransitionNeighborhoods(const Dataset& d, const KnnTable& knn, int hops) : hops_(hops), k_(knn.k) {
  const int64_t n = d.n_obs_local, b = d.obs_begin, k = knn.k;
  auto is_local = [&](int64_t cell) { return cell >= b && cell < b + n; };

  // 1. The kNN rows of the remote one-hop neighbours (two hops only).
  std::vector<int64_t> remote1;
  if (hops == 2) {
    for (int64_t c : knn.ids)
      if (!is_local(c)) remote1.push_back(c);
    std::sort(remote1.begin(), remote1.end());
    remote1.erase(std::unique(remote1.begin(), remote1.end()), remote1.end());
  }
  std::vector<int64_t> remote1_knn;
  if (hops == 2) {
    remote1_knn = fetch_rows(d.comm, d.partition(), remote1, k, [&](int64_t local, int64_t* out) {
      std::copy(knn.row(local), knn.row(local) + k, out);
    });
    knn_bytes_received_ = static_cast<int64_t>(remote1_knn.size() * sizeof(int64_t));
  }
  CellIndexMap remote1_slot(static_cast<int64_t>(remote1.size()));
  for (size_t s = 0; s < remote1.size(); ++s) remote1_slot.insert(remote1[s], static_cast<int64_t>(s));
  // kNN row (global cells) of a cell whose row is known: local, or a one-hop remote neighbour.
  auto knn_global = [&](int64_t cell) -> const int64_t* {
    if (is_local(cell)) return knn.row(cell - b);
    const int64_t s = remote1_slot.find(cell);
    return s < 0 ? nullptr : remote1_knn.data() + s * k;
  };

  // 2. Scoring order: breadth-first over the local part of the kNN graph, from the lowest
  // unvisited cell, so that consecutive cells are graph neighbours.
  order_.reserve(static_cast<size_t>(n));
  {
    std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
    std::deque<int64_t> queue;
    for (int64_t start = 0; start < n; ++start) {
      if (seen[static_cast<size_t>(start)]) continue;
      seen[static_cast<size_t>(start)] = 1;
      queue.push_back(start);
      while (!queue.empty()) {
        const int64_t i = queue.front();
        queue.pop_front();
        order_.push_back(i);
        for (int64_t c = 0; c < k; ++c) {
          const int64_t j = knn.row(i)[c];
          if (is_local(j) && !seen[static_cast<size_t>(j - b)]) {
            seen[static_cast<size_t>(j - b)] = 1;
            queue.push_back(j - b);
          }
        }
      }
    }
  }

  // 3. Halo rows in order of first use along the scoring order.
  n_local_ = n;
  first_ = b;
  CellIndexMap remote_row(static_cast<int64_t>(remote1.size()) * 2);
  auto row_of = [&](int64_t cell) -> int64_t {
    if (is_local(cell)) return cell - b;
    const int64_t r = remote_row.insert(cell, n + static_cast<int64_t>(halo_cell_.size()));
    if (r == n + static_cast<int64_t>(halo_cell_.size())) halo_cell_.push_back(cell);
    return r;
  };
  for (int64_t i : order_) {
    const int64_t* first = knn.row(i);
    for (int64_t c = 0; c < k; ++c) {
      row_of(first[c]);
      if (hops < 2) continue;
      const int64_t* second = knn_global(first[c]);
      for (int64_t e = 0; e < k; ++e) row_of(second[e]);
    }
  }

  // 4. kNN rows in table-row space: local cells, then (two hops) the remote one-hop neighbours.
  knn_slot_.assign(static_cast<size_t>(rows()), -1);
  const int64_t slots = n + static_cast<int64_t>(remote1.size());
  knn_rows_.resize(static_cast<size_t>(slots * k));
  for (int64_t s = 0; s < slots; ++s) {
    const int64_t* ids = s < n ? knn.row(s) : remote1_knn.data() + (s - n) * k;
    const int64_t row = s < n ? s : remote_row.find(remote1[static_cast<size_t>(s - n)]);
    knn_slot_[static_cast<size_t>(row)] = s;
    for (int64_t c = 0; c < k; ++c) knn_rows_[static_cast<size_t>(s * k + c)] = row_of(ids[c]);
  }
}

const int64_t* TransitionNeighborhoods::knn_row_of(int64_t row) const {
  const int64_t s = knn_slot_[static_cast<size_t>(row)];
  return s < 0 ? nullptr : knn_rows_.data() + s * k_;
}

void TransitionNeighborhoods::neighborhood(int64_t local_cell, std::vector<int64_t>& out, std::vector<int64_t>& stamp) const {
  auto add = [&](int64_t row) {
    if (stamp[static_cast<size_t>(row)] == local_cell) return;
    stamp[static_cast<size_t>(row)] = local_cell;
    out.push_back(row);
  };
  const int64_t self = local_cell;
  add(self);
  const int64_t* first = knn_row_of(self);
  for (int64_t c = 0; c < k_; ++c) {
    add(first[c]);
    if (hops_ < 2) continue;
    const int64_t* second = knn_row_of(first[c]);
    for (int64_t e = 0; e < k_; ++e) add(second[e]);
  }
}

}  // namespace velofield
