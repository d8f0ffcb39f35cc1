#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "umap_epoch.hpp"

using velofield::kernels::UmapEpochParams;
using velofield::kernels::UmapEpochs;

namespace {

UmapEpochParams params(int64_t n, int epoch, double alpha) {
  UmapEpochParams p;
  p.a = 1;
  p.b = 1;
  p.alpha = alpha;
  p.epoch = epoch;
  p.seed = 7;
  p.n_vertices = n;
  p.dim = 2;
  return p;
}

}  // namespace

TEST(UmapEpoch, TwoCellsAttractByTheClosedFormStep) {
  // One symmetric edge of period 1; a negligible negative-sampling rate draws no negatives.
  const std::vector<int64_t> indptr = {0, 1, 2}, tails = {1, 0};
  const std::vector<double> eps = {1, 1};
  UmapEpochs epochs(2, indptr.data(), tails.data(), eps.data(), 1e-9);
  std::vector<float> snapshot = {0, 0, 3, 0}, embedding = snapshot;
  // Epoch 0: no edge is due yet (UMAP's schedules start one period in).
  epochs.run(params(2, 0, 1.0), snapshot.data(), embedding.data());
  EXPECT_EQ(embedding, snapshot);
  epochs.run(params(2, 1, 1.0), snapshot.data(), embedding.data());
  // Two pulls with the coefficient -2ab d^(2(b-1)) / (1 + a d^(2b)) (a = b = 1) at the starting
  // distance, towards the neighbour's snapshot position, the second from where the first left.
  const double coeff = -2.0 / (9.0 + 1.0);
  double x = 0;
  for (int rep = 0; rep < 2; ++rep) x += coeff * (x - 3);
  EXPECT_NEAR(x, 1.08, 1e-12);
  // The power is evaluated to ~2e-5 relative (fast_pow).
  EXPECT_NEAR(embedding[0], x, 1e-4);
  EXPECT_NEAR(embedding[2], 3 - x, 1e-4);
  EXPECT_EQ(embedding[1], 0.0f);
}

TEST(UmapEpoch, SplittingTheCellsBetweenRanksChangesNothing) {
  const int64_t n = 60;
  std::vector<int64_t> indptr{0}, tails;
  std::vector<double> eps;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d : {1, 2, 5, 13}) {
      tails.push_back((i + d) % n);
      eps.push_back(1.0 + static_cast<double>((i * d) % 4));
      tails.push_back((i + n - d) % n);
      eps.push_back(1.0 + static_cast<double>(((i + n - d) % n * d) % 4));
    }
    indptr.push_back(static_cast<int64_t>(tails.size()));
  }
  std::vector<float> start(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    start[static_cast<size_t>(2 * i)] = static_cast<float>(std::cos(0.3 * static_cast<double>(i)) * 5 + 5);
    start[static_cast<size_t>(2 * i + 1)] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 5 + 5);
  }
  // One block of all cells, against blocks [0, 25) and [25, 60) with their own edge lists.
  UmapEpochs whole(n, indptr.data(), tails.data(), eps.data(), 5);
  const int64_t cut = 25;
  std::vector<int64_t> indptr_b(indptr.begin() + cut, indptr.end());
  for (auto& v : indptr_b) v -= indptr[cut];
  UmapEpochs first(cut, indptr.data(), tails.data(), eps.data(), 5);
  UmapEpochs second(n - cut, indptr_b.data(), tails.data() + indptr[cut], eps.data() + indptr[cut], 5);
  std::vector<float> a = start, b = start;
  for (int epoch = 0; epoch < 15; ++epoch) {
    const double alpha = 1.0 - epoch / 15.0;
    const std::vector<float> snap_a = a, snap_b = b;
    whole.run(params(n, epoch, alpha), snap_a.data(), a.data());
    auto p1 = params(n, epoch, alpha);
    first.run(p1, snap_b.data(), b.data());
    auto p2 = params(n, epoch, alpha);
    p2.first_vertex = cut;
    second.run(p2, snap_b.data(), b.data() + 2 * cut);
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, start);
}

TEST(UmapEpoch, TwoCliquesSeparate) {
  // Two groups of 20 cells, every pair inside a group joined, started interleaved on one square.
  const int64_t n = 40;
  std::vector<int64_t> indptr{0}, tails;
  std::vector<double> eps;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      if (j != i && (j < 20) == (i < 20)) {
        tails.push_back(j);
        eps.push_back(1.0);
      }
    indptr.push_back(static_cast<int64_t>(tails.size()));
  }
  std::vector<float> x(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    x[static_cast<size_t>(2 * i)] = static_cast<float>((i * 7) % 10);
    x[static_cast<size_t>(2 * i + 1)] = static_cast<float>((i * 3) % 10);
  }
  UmapEpochs epochs(n, indptr.data(), tails.data(), eps.data(), 5);
  const int n_epochs = 200;
  for (int e = 0; e < n_epochs; ++e) {
    UmapEpochParams p = params(n, e, 1.0 - static_cast<double>(e) / n_epochs);
    p.a = 1.577;
    p.b = 0.895;
    const std::vector<float> snap = x;
    epochs.run(p, snap.data(), x.data());
  }
  double intra = 0, inter = 0;
  int n_intra = 0, n_inter = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double d = std::hypot(x[static_cast<size_t>(2 * i)] - x[static_cast<size_t>(2 * j)],
                                  x[static_cast<size_t>(2 * i + 1)] - x[static_cast<size_t>(2 * j + 1)]);
      if ((i < 20) == (j < 20)) { intra += d; ++n_intra; } else { inter += d; ++n_inter; }
    }
  intra /= n_intra;
  inter /= n_inter;
  EXPECT_LT(intra, 0.3 * inter) << "intra " << intra << " inter " << inter;
}

TEST(UmapEpoch, RandomStreamIsKeyedAndUniform) {
  using velofield::kernels::umap_random;
  EXPECT_EQ(umap_random(1, 2, 3, 4), umap_random(1, 2, 3, 4));
  EXPECT_NE(umap_random(1, 2, 3, 4), umap_random(1, 2, 3, 5));
  EXPECT_NE(umap_random(1, 2, 3, 4), umap_random(1, 2, 4, 4));
  EXPECT_NE(umap_random(1, 2, 3, 4), umap_random(1, 3, 3, 4));
  EXPECT_NE(umap_random(1, 2, 3, 4), umap_random(2, 2, 3, 4));
  std::vector<int> bins(10, 0);
  for (int64_t d = 0; d < 100000; ++d) bins[static_cast<size_t>(umap_random(0, 0, 0, d) % 10)]++;
  for (int c : bins) EXPECT_NEAR(c, 10000, 400);
}
