#include "evaluate/kd_tree.hpp"

#include <algorithm>
#include <limits>
#include <queue>
#include <utility>

namespace velofield {

namespace {
constexpr int64_t kLeafSize = 16;
}

KdTree::KdTree(const double* points, int64_t n, int dim) : points_(points), n_(n), dim_(dim), order_(static_cast<size_t>(n)) {
  for (int64_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
  if (n > 0) build(0, n);
}

int32_t KdTree::build(int64_t begin, int64_t end) {
  const int32_t id = static_cast<int32_t>(nodes_.size());
  nodes_.push_back(Node{begin, end});
  if (end - begin <= kLeafSize) return id;
  // Split the widest dimension at its median.
  int best = 0;
  double widest = -1;
  for (int d = 0; d < dim_; ++d) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t k = begin; k < end; ++k) {
      const double v = points_[order_[static_cast<size_t>(k)] * dim_ + d];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (hi - lo > widest) {
      widest = hi - lo;
      best = d;
    }
  }
  if (!(widest > 0)) return id;   // all points equal: keep a leaf
  const int64_t mid = begin + (end - begin) / 2;
  auto coord = [&](int64_t p) { return points_[p * dim_ + best]; };
  std::nth_element(order_.begin() + begin, order_.begin() + mid, order_.begin() + end,
                   [&](int64_t a, int64_t b) { return coord(a) < coord(b) || (coord(a) == coord(b) && a < b); });
  const double split = coord(order_[static_cast<size_t>(mid)]);
  const int32_t left = build(begin, mid);
  const int32_t right = build(mid, end);
  Node& node = nodes_[static_cast<size_t>(id)];
  node.split_dim = best;
  node.split = split;
  node.left = left;
  node.right = right;
  return id;
}

std::vector<int64_t> KdTree::nearest(const double* query, int k, int64_t exclude) const {
  // Max-heap of the best k (distance², index): the top is the worst kept candidate.
  using Entry = std::pair<double, int64_t>;
  std::priority_queue<Entry> heap;
  auto consider = [&](int64_t p) {
    if (p == exclude) return;
    double d2 = 0;
    for (int d = 0; d < dim_; ++d) {
      const double diff = points_[p * dim_ + d] - query[d];
      d2 += diff * diff;
    }
    const Entry e{d2, p};
    if (static_cast<int>(heap.size()) < k) heap.push(e);
    else if (e < heap.top()) {
      heap.pop();
      heap.push(e);
    }
  };
  // Depth-first, nearer side first; a far side is skipped only when its plane lies strictly
  // beyond the worst kept distance (equal distances may still win on index).
  std::vector<std::pair<int32_t, double>> stack;   // node, lower bound of distance² to it
  if (!nodes_.empty() && k > 0) stack.emplace_back(0, 0.0);
  while (!stack.empty()) {
    const auto [id, bound] = stack.back();
    stack.pop_back();
    if (static_cast<int>(heap.size()) == k && bound > heap.top().first) continue;
    const Node& node = nodes_[static_cast<size_t>(id)];
    if (node.split_dim < 0) {
      for (int64_t i = node.begin; i < node.end; ++i) consider(order_[static_cast<size_t>(i)]);
      continue;
    }
    const double diff = query[node.split_dim] - node.split;
    const int32_t near = diff < 0 ? node.left : node.right, far = diff < 0 ? node.right : node.left;
    stack.emplace_back(far, std::max(bound, diff * diff));
    stack.emplace_back(near, bound);
  }
  std::vector<int64_t> out(heap.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = heap.top().second;
    heap.pop();
  }
  return out;
}

}  // namespace velofield
