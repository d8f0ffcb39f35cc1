// What makes the SparseVFC fit the same bits at any rank count, piece by piece: the chunk layout
// (never a function of the rank count), and BLAS results that do not depend on the thread count
// (ranks differ in threads: cores / ranks). tests/mpi/test_vectorfield_ranks.cpp checks the whole.
#include <gtest/gtest.h>
#include <mpi.h>

#include <random>

#include "core/lapack.hpp"
#include "vectorfield/control_points.hpp"
#include "vectorfield/fit_layout.hpp"
#include "vectorfield/kernel_bandwidth.hpp"
#include "vectorfield/kernel_blocks.hpp"
#include "vectorfield/serial_blas.hpp"
#include "vectorfield/sparse_vfc.hpp"

using namespace velofield;

extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace {

// OpenBLAS with `threads` threads while it lives; false from usable() when that is not possible.
class BlasThreads {
 public:
  explicit BlasThreads(int threads) {
    if (!openblas_get_num_threads || !openblas_set_num_threads) return;
    saved_ = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    usable_ = openblas_get_num_threads() == threads;
  }
  ~BlasThreads() {
    if (saved_ > 0) openblas_set_num_threads(saved_);
  }
  bool usable() const { return usable_; }

 private:
  int saved_ = 0;
  bool usable_ = false;
};

std::vector<double> uniform(size_t n, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

}  // namespace

TEST(FitLayout, ChunksDependOnCellsAndControlPointsOnly) {
  // Pancreas (3,696 cells): 8 chunks of 462 for both fits; 1M cells: 2,048 rows, or M rows when M
  // is larger (the fixed-point conversion per chunk grows as M²).
  EXPECT_EQ(fit_chunk_rows(3696, 500), 462);
  EXPECT_EQ(fit_chunk_rows(3696, 185), 462);
  EXPECT_EQ(fit_chunk_rows(1000000, 500), 2048);
  EXPECT_EQ(fit_chunk_rows(1000000, 5000), 5000);
  EXPECT_EQ(fit_chunk_rows(100, 50), 256);   // one short chunk
  EXPECT_EQ(make_fit_layout(3696, 500, 1).offsets, (std::vector<int64_t>{0, 3696}));
  EXPECT_EQ(make_fit_layout(3696, 500, 2).offsets, (std::vector<int64_t>{0, 1848, 3696}));
  EXPECT_EQ(make_fit_layout(3696, 500, 3).offsets, (std::vector<int64_t>{0, 1386, 2772, 3696}));
  for (int64_t cells : {1, 255, 256, 257, 3696, 100000})
    for (int ranks = 1; ranks <= 5; ++ranks) {
      const FitLayout l = make_fit_layout(cells, 300, ranks);
      EXPECT_EQ(l.chunk_rows, fit_chunk_rows(cells, 300));
      EXPECT_EQ(l.offsets.front(), 0);
      EXPECT_EQ(l.offsets.back(), cells);
      for (int r = 0; r < ranks; ++r) {
        EXPECT_LE(l.begin(r), l.begin(r + 1));
        if (l.begin(r) < cells) {
          EXPECT_EQ(l.begin(r) % l.chunk_rows, 0) << cells << " cells, rank " << r << " of " << ranks;
        }
      }
    }
}

TEST(SerialBlas, OneThreadInsideTheScopeAndTheThreadsBackAfter) {
  BlasThreads two(2);
  if (!two.usable()) GTEST_SKIP() << "this BLAS cannot run 2 threads: nothing to check";
  {
    const SerialBlas serial;
    EXPECT_EQ(openblas_get_num_threads(), 1);
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
}

// The fit keeps the SYRK of a chunk threaded: it must give the same bits with 1 and 2 threads
// (measured for OpenBLAS 0.3.21; a BLAS that breaks this fails here, not silently in the fit).
TEST(SerialBlas, ChunkSyrkIsTheSameWithOneAndTwoThreads) {
  for (int64_t n : {256, 462, 2048})
    for (int64_t A : {187, 530}) {
      const std::vector<double> w = uniform(static_cast<size_t>(A * n), 3, 0, 1);
      std::vector<double> one(static_cast<size_t>(A * A), 0.0), two(static_cast<size_t>(A * A), 0.0);
      {
        BlasThreads t(1);
        blas::syrk_ata_upper_rowmajor(A, n, 1.0, w.data(), A, 0.0, one.data(), A);
      }
      BlasThreads t(2);
      if (!t.usable()) GTEST_SKIP() << "this BLAS cannot run 2 threads: nothing to check";
      blas::syrk_ata_upper_rowmajor(A, n, 1.0, w.data(), A, 0.0, two.data(), A);
      EXPECT_EQ(one, two) << n << " rows, " << A << " columns";
    }
}

// The whole fit with 1 and 2 BLAS threads, at pancreas' sizes (8 chunks of 462 cells, d = 30,
// M = 500), where OpenBLAS rounds the thin GEMM U·C, the Cholesky and the distance GEMM
// differently with 2 threads: the same bits.
TEST(SparseVfc, SameBitsWithOneAndTwoBlasThreads) {
  const int64_t cells = 3696, D = 30, M = 500;
  const std::vector<double> x = uniform(static_cast<size_t>(cells * D), 7, -1, 1);
  std::vector<double> y = uniform(static_cast<size_t>(cells * D), 8, -0.1, 0.1);
  for (int64_t i = 0; i < cells; ++i)   // a rotation in the first two coordinates plus noise
    for (int q = 0; q < 2; ++q) y[static_cast<size_t>(i * D + q)] += (q == 0 ? -1 : 1) * x[static_cast<size_t>(i * D + 1 - q)];
  const std::vector<uint8_t> valid(static_cast<size_t>(cells), 1);
  std::vector<int64_t> ctrl_cells(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) ctrl_cells[static_cast<size_t>(m)] = 7 * m;
  const ControlPoints ctrl = control_points_from_cells(MPI_COMM_SELF, 0, cells, D, x.data(), ctrl_cells);
  const double beta = kernel_bandwidth_beta(MPI_COMM_SELF, ctrl.coords, M, D);
  SparseVfcOptions opt;
  opt.M = M;
  opt.MaxIter = 3;
  auto fit = [&](int threads) {
    BlasThreads t(threads);
    KernelBlocks blocks(cells, D, x.data(), ctrl.coords, M, beta, 1e9, fit_chunk_rows(cells, M));
    EXPECT_EQ(blocks.chunk_rows(), 462);
    return std::make_pair(fit_sparse_vfc(MPI_COMM_SELF, {cells, D, x.data(), y.data(), valid.data()}, ctrl, blocks, opt),
                          t.usable());
  };
  const auto [one, one_ok] = fit(1);
  const auto [two, two_ok] = fit(2);
  if (!two_ok) GTEST_SKIP() << "this BLAS cannot run 2 threads: nothing to check";
  EXPECT_EQ(one.iterations, 3);
  EXPECT_EQ(one.coef, two.coef);
  EXPECT_EQ(one.V, two.V);
  EXPECT_EQ(one.P, two.P);
  EXPECT_EQ(one.sigma2, two.sigma2);
  EXPECT_EQ(one.energy, two.energy);
}
