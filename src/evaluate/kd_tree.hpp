#pragma once
// Exact k-nearest-neighbour search over points in a few dimensions (an embedding such as X_umap),
// with ties broken by point index so the answer is unique and does not depend on the rank count.
#include <cstdint>
#include <vector>

namespace velofield {

class KdTree {
 public:
  // points: n × dim, row-major; the tree keeps a reference, so they must outlive it.
  KdTree(const double* points, int64_t n, int dim);
  // The k points nearest to `query` (Euclidean), nearest first; equal distances in index order.
  // `exclude` (a point index, or -1) is skipped: a cell is not its own neighbour.
  std::vector<int64_t> nearest(const double* query, int k, int64_t exclude) const;

 private:
  struct Node {
    int64_t begin, end;      // range of order_ for a leaf
    int split_dim = -1;      // -1: leaf
    double split = 0;
    int32_t left = -1, right = -1;
  };
  int32_t build(int64_t begin, int64_t end);
  const double* points_;
  int64_t n_;
  int dim_;
  std::vector<int64_t> order_;
  std::vector<Node> nodes_;
};

}  // namespace velofield
