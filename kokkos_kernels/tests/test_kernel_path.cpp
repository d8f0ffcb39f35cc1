// The team kernels (the GPU path, kernel_path.hpp) against the range kernels (the host path) on the
// same inputs. On a host backend both run, one thread per team, and sum in the same order: the
// results must be bit-identical. On a GPU the compiler may contract differently in the two
// kernels: there they must agree to rounding. Sizes are not multiples of the tiles (64 centres,
// 128 references and 8 per step, 4 centres or rows per step, 32 rows, 128 threads) so that every partial tile is exercised,
// and the dims straddle the register bounds (8, 32) and the range fallback above 32.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gaussian_kernel_block_functor.hpp"
#include "knn_tile_functor.hpp"
#include "moment_smoothing_functor.hpp"
#include "rkhs_field_functor.hpp"

using namespace velofield::kernels;

namespace {
using Exec = Kokkos::DefaultExecutionSpace;
using Mem = Exec::memory_space;
constexpr bool kHost = Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible;

std::vector<double> uniform(size_t n, uint64_t seed, double lo, double hi) {
  std::vector<double> v(n);
  uint64_t s = seed;
  for (auto& e : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    e = lo + (hi - lo) * static_cast<double>(s >> 11) * 0x1.0p-53;
  }
  return v;
}

template <class T>
Kokkos::View<T*, Mem> to_device(const std::vector<T>& h) {
  Kokkos::View<T*, Mem> d("test input", h.size());
  Kokkos::deep_copy(d, Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(h.data(), h.size()));
  return d;
}

template <class View>
std::vector<typename View::non_const_value_type> to_host(const View& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  return std::vector<typename View::non_const_value_type>(h.data(), h.data() + h.span());
}

template <class T>
void expect_same(const std::vector<T>& team, const std::vector<T>& range, const std::string& what) {
  ASSERT_EQ(team.size(), range.size()) << what;
  for (size_t e = 0; e < team.size(); ++e) {
    if (kHost) {
      ASSERT_EQ(team[e], range[e]) << what << " entry " << e;
    } else {
      ASSERT_NEAR(team[e], range[e], 1e-12 * (1 + std::abs(range[e]))) << what << " entry " << e;
    }
  }
}
}  // namespace

TEST(KernelPath, RkhsValuesAndProductsTeamEqualsRange) {
  const int64_t points = 300, centres = 151;
  for (int64_t dim : {2, 8, 9, 30, 32, 33}) {
    auto ctrl = to_device(uniform(static_cast<size_t>(centres * dim), 1, -1, 1));
    auto coef = to_device(uniform(static_cast<size_t>(centres * dim), 2, -1, 1));
    auto x = to_device(uniform(static_cast<size_t>(points * dim), 3, -1, 1));
    auto v = to_device(uniform(static_cast<size_t>(points * dim), 4, -1, 1));
    const RkhsFieldView<Mem> f{ctrl, coef, centres, dim, 0.8 / static_cast<double>(dim)};
    for (bool products : {false, true}) {
      Kokkos::View<double*, Mem> a("team", static_cast<size_t>(points * dim)), b("range", static_cast<size_t>(points * dim));
      rkhs_field_launch<Exec>(f, points, x, v, a, products, KernelPath::team);
      rkhs_field_launch<Exec>(f, points, x, v, b, products, KernelPath::range);
      const auto ta = to_host(a), tb = to_host(b);
      expect_same(ta, tb, "rkhs dim " + std::to_string(dim) + (products ? " products" : " values"));
      // Not trivially equal: the field is nonzero everywhere.
      double norm = 0;
      for (double e : tb) norm += e * e;
      EXPECT_GT(norm, 1e-3) << dim;
    }
  }
}

TEST(KernelPath, KnnTileTeamEqualsRangeOverTwoTiles) {
  const int64_t n_queries = 70, n_refs = 301;
  const int k = 7;
  for (int dim : {3, 8, 30, 33}) {
    using F = KnnTileFunctor<Mem>;
    F lists[2];
    Kokkos::View<double**, Kokkos::LayoutRight, Mem> q("q", n_queries, dim);
    Kokkos::deep_copy(q, Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                             uniform(static_cast<size_t>(n_queries * dim), 5, 0, 1).data(), n_queries, dim));
    // Query q is reference 10 + q of the first tile: it must never meet itself.
    std::vector<int64_t> ids(n_queries);
    for (int64_t i = 0; i < n_queries; ++i) ids[static_cast<size_t>(i)] = 10 + i;
    auto d_ids = to_device(ids);
    for (auto& f : lists) {
      f.queries = q;
      f.query_ids = d_ids;
      f.k = k;
      f.best_dist2 = Kokkos::View<double**, Kokkos::LayoutRight, Mem>("best", n_queries, k);
      f.best_ids = Kokkos::View<int64_t**, Kokkos::LayoutRight, Mem>("best ids", n_queries, k);
      Kokkos::deep_copy(f.best_dist2, std::numeric_limits<double>::infinity());
      Kokkos::deep_copy(f.best_ids, int64_t{-1});
    }
    for (int tile = 0; tile < 2; ++tile) {
      auto refs = uniform(static_cast<size_t>(n_refs * dim), 6 + static_cast<uint64_t>(tile), 0, 1);
      // The first tile holds the queries themselves (distance 0 to self, skipped by id).
      if (tile == 0) {
        auto qh = to_host(q);
        for (int64_t i = 0; i < n_queries; ++i)
          for (int c = 0; c < dim; ++c) refs[static_cast<size_t>(c * n_refs + 10 + i)] = qh[static_cast<size_t>(i * dim + c)];
      }
      Kokkos::View<double**, Kokkos::LayoutRight, Mem> refs_t("refs_t", dim, n_refs);
      Kokkos::deep_copy(refs_t, Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                    refs.data(), dim, n_refs));
      for (int path = 0; path < 2; ++path) {
        lists[path].refs_t = refs_t;
        lists[path].ref_first = tile * n_refs;
        knn_tile_launch<Exec>(lists[path], path == 0 ? KernelPath::team : KernelPath::range);
      }
    }
    const auto ids_team = to_host(lists[0].best_ids), ids_range = to_host(lists[1].best_ids);
    expect_same(to_host(lists[0].best_dist2), to_host(lists[1].best_dist2), "knn dist dim " + std::to_string(dim));
    if (kHost) {
      EXPECT_EQ(ids_team, ids_range) << dim;
    }
    for (int64_t i = 0; i < n_queries; ++i) {
      EXPECT_GE(ids_team[static_cast<size_t>(i * k)], 0);   // every list filled
      for (int j = 0; j < k; ++j) EXPECT_NE(ids_team[static_cast<size_t>(i * k + j)], 10 + i);
    }
  }
}

TEST(KernelPath, GaussianKernelBlockTeamEqualsRange) {
  const int64_t rows = 45, centres = 130;
  for (int64_t dim : {2, 9, 30, 33}) {
    auto x = to_device(uniform(static_cast<size_t>(rows * dim), 7, 0, 1));
    auto c = to_device(uniform(static_cast<size_t>(centres * dim), 8, 0, 1));
    Kokkos::View<double*, Mem> a("team", static_cast<size_t>(rows * centres)), b("range", static_cast<size_t>(rows * centres));
    const double beta = 2.0 / static_cast<double>(dim);
    gaussian_kernel_block_launch<Exec>(GaussianKernelBlockFunctor<Mem>{x, c, a, centres, dim, beta}, rows, KernelPath::team);
    gaussian_kernel_block_launch<Exec>(GaussianKernelBlockFunctor<Mem>{x, c, b, centres, dim, beta}, rows, KernelPath::range);
    const auto ta = to_host(a), tb = to_host(b);
    expect_same(ta, tb, "gaussian dim " + std::to_string(dim));
    for (double e : ta) {
      EXPECT_GT(e, 0);
      EXPECT_LE(e, 1);
    }
  }
}

namespace {
template <class Value>
void moments_team_equals_range(bool second) {
  const int64_t rows = 40, sources = 60, width = 150;   // more than two 64-column blocks
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> weights;
  const auto r = uniform(4000, 9, 0, 1);
  size_t next = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t deg = i % 7 == 3 ? 0 : 1 + static_cast<int64_t>(r[next++] * 9);
    const bool uniform_row = i % 2 == 0;
    for (int64_t e = 0; e < deg; ++e) {
      cols.push_back(static_cast<int64_t>(r[next++] * static_cast<double>(sources)));
      weights.push_back(uniform_row ? 1.0 / static_cast<double>(deg) : r[next++]);
    }
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  std::vector<Value> uh(static_cast<size_t>(sources * width)), sh(uh.size());
  const auto ur = uniform(uh.size(), 10, 0, 3), sr = uniform(sh.size(), 11, 0, 3);
  for (size_t e = 0; e < uh.size(); ++e) {
    uh[e] = static_cast<Value>(ur[e]);
    sh[e] = static_cast<Value>(sr[e]);
  }
  using F = MomentSmoothingFunctor<Value, Mem>;
  using Dense = Kokkos::View<Value**, Kokkos::LayoutRight, Mem>;
  std::vector<Dense> outs[2];
  F f[2];
  for (int path = 0; path < 2; ++path) {
    f[path].indptr = to_device(indptr);
    f[path].cols = to_device(cols);
    f[path].weights = to_device(weights);
    Dense u("u", sources, width), s("s", sources, width);
    Kokkos::deep_copy(u, Kokkos::View<const Value**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(uh.data(), sources, width));
    Kokkos::deep_copy(s, Kokkos::View<const Value**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(sh.data(), sources, width));
    f[path].u = u;
    f[path].s = s;
    f[path].second = second;
    typename F::Out* targets[5] = {&f[path].m_u, &f[path].m_s, &f[path].m_uu, &f[path].m_us, &f[path].m_ss};
    for (int o = 0; o < (second ? 5 : 2); ++o) {
      outs[path].push_back(Dense("out", rows, width));
      *targets[o] = outs[path].back();
    }
    moment_smoothing_launch<Value, Exec>(f[path], rows, width, path == 0 ? KernelPath::team : KernelPath::range);
  }
  for (size_t o = 0; o < outs[0].size(); ++o) {
    const auto ta = to_host(outs[0][o]), tb = to_host(outs[1][o]);
    if (kHost) {
      EXPECT_EQ(ta, tb) << o;
    } else {
      for (size_t e = 0; e < ta.size(); ++e) ASSERT_NEAR(ta[e], tb[e], 1e-5 * (1 + std::abs(tb[e]))) << o;
    }
    Value total = 0;
    for (Value e : tb) total += e;
    EXPECT_GT(total, Value(1)) << o;
  }
}
}  // namespace

TEST(KernelPath, MomentSmoothingTeamEqualsRange) {
  moments_team_equals_range<double>(true);
  moments_team_equals_range<double>(false);
  moments_team_equals_range<float>(true);
}
