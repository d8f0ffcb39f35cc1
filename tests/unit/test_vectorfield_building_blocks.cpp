// The parts of the vectorfield stage on their own: dynamo's grid, the bandwidth rule, the M-step
// solvers, the control-point draw and file, the kernel blocks, the calculus on closed forms.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <fstream>
#include <map>

#include "test_support.hpp"
#include "vectorfield/coefficient_solve.hpp"
#include "vectorfield/control_points.hpp"
#include "vectorfield/kernel_bandwidth.hpp"
#include "vectorfield/kernel_blocks.hpp"
#include "vectorfield/vector_calculus.hpp"
#include "vectorfield/vector_field_grid.hpp"

using namespace velofield;

TEST(VectorFieldGrid, MarginsAndMeshgridOrderIn2D) {
  // Cells (0, 0) and (1, 2): x from -0.01 to 1 + 0.01·1.01, y from -0.02 to 2 + 0.01·2.02.
  const std::vector<double> x{0, 0, 1, 2};
  const auto g = dynamo_grid(MPI_COMM_SELF, 2, 2, x.data(), 3);
  ASSERT_EQ(g.size(), 18u);
  const double x0 = -0.01, x2 = 1.0101, y0 = -0.02, y2 = 2.0202;
  const double xs[3] = {x0, (x0 + x2) / 2, x2}, ys[3] = {y0, (y0 + y2) / 2, y2};
  for (int p = 0; p < 9; ++p) {   // numpy.meshgrid('xy') flattened: x varies fastest
    EXPECT_NEAR(g[p * 2], xs[p % 3], 1e-15) << p;
    EXPECT_NEAR(g[p * 2 + 1], ys[p / 3], 1e-15) << p;
  }
}

TEST(VectorFieldGrid, MeshgridOrderIn3D) {
  // meshgrid('xy') in 3-D has shape (n_y, n_x, n_z): z fastest, then x, then y.
  const std::vector<double> x{0, 0, 0, 1, 1, 1};
  const auto g = dynamo_grid(MPI_COMM_SELF, 2, 3, x.data(), 2);
  ASSERT_EQ(g.size(), 24u);
  const double lo = -0.01, hi = 1.0101;
  auto axis = [&](int bit) { return bit ? hi : lo; };
  for (int p = 0; p < 8; ++p) {
    const int iz = p % 2, ix = (p / 2) % 2, iy = p / 4;
    EXPECT_NEAR(g[p * 3 + 0], axis(ix), 1e-15) << p;
    EXPECT_NEAR(g[p * 3 + 1], axis(iy), 1e-15) << p;
    EXPECT_NEAR(g[p * 3 + 2], axis(iz), 1e-15) << p;
  }
}

TEST(KernelBandwidth, ClosedFormOnALine) {
  // 20 points at 0..19: n_b = 4, so the 3 nearest others. Interior points: 1, 1, 2 (sum 4);
  // the ends: 1, 2, 3 (sum 6). dbar = (18·4 + 2·6) / 60 = 1.4, beta = 1.125 / dbar².
  std::vector<double> line(20);
  for (int i = 0; i < 20; ++i) line[static_cast<size_t>(i)] = i;
  EXPECT_NEAR(kernel_bandwidth_beta(MPI_COMM_SELF, line, 20, 1), 1.125 / (1.4 * 1.4), 1e-15);
  // 5 points: n_b = max(2, 1) = 2, one neighbour at distance 1 each: beta = 1.125.
  std::vector<double> five{0, 1, 2, 3, 4};
  EXPECT_NEAR(kernel_bandwidth_beta(MPI_COMM_SELF, five, 5, 1), 1.125, 1e-15);
}

TEST(CoefficientSolve, CholeskyAndDrouinSolveAWellConditionedSystem) {
  // L = [[4, 1, 0], [1, 3, 1], [0, 1, 2]] (upper triangle given), C known, R = L C.
  const std::vector<double> full{4, 1, 0, 1, 3, 1, 0, 1, 2};
  const std::vector<double> C{1, -2, 0.5, 3, -1, 0.25};   // 3 × 2
  std::vector<double> R(6, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) R[static_cast<size_t>(i * 2 + j)] += full[static_cast<size_t>(i * 3 + k)] * C[static_cast<size_t>(k * 2 + j)];
  for (auto solver : {CoefficientSolver::cholesky, CoefficientSolver::drouin}) {
    std::vector<double> lhs{4, 1, 0, -99, 3, 1, -99, -99, 2}, out;   // lower triangle ignored
    auto report = solve_coefficients(solver, 3, 2, lhs, R, out);
    ASSERT_EQ(out.size(), 6u);
    for (int e = 0; e < 6; ++e) EXPECT_NEAR(out[static_cast<size_t>(e)], C[static_cast<size_t>(e)], 1e-13) << solver_name(solver);
    EXPECT_GT(report.rcond, 0.1);   // cond_1 of this L is below 10
    EXPECT_EQ(report.jitter_steps, 0);
  }
}

TEST(CoefficientSolve, SemidefiniteMatrixIsFactoredAfterRaisingTheDiagonal) {
  // Rank one: [[1, 1], [1, 1]] with R in its range; the shifted solve gives a solution of L C ≈ R.
  std::vector<double> lhs{1, 1, 1, 1}, R{2, 2}, out;
  auto report = solve_coefficients(CoefficientSolver::cholesky, 2, 1, lhs, R, out);
  EXPECT_GT(report.jitter_steps, 0);
  EXPECT_NEAR(out[0] + out[1], 2, 1e-6);
}

TEST(ControlPoints, DrawFrequenciesFollowTheSpeed) {
  // One control point out of four cells with speeds 1, 2, 3, 0, over many seeds: frequencies
  // 1/6, 2/6, 3/6, 0 (binomial standard error below 0.004 at 20,000 draws; bound 5 s.e.).
  const std::vector<double> x{0, 1, 2, 3}, speed{1, 2, 3, 0};
  std::vector<double> hits(4, 0);
  const int draws = 20000;
  for (int s = 0; s < draws; ++s) {
    auto cp = sample_control_points_by_speed(MPI_COMM_SELF, 0, 4, 1, x.data(), speed.data(), 1, static_cast<uint64_t>(s), "test");
    hits[static_cast<size_t>(cp.cells[0])] += 1;
  }
  EXPECT_NEAR(hits[0] / draws, 1.0 / 6, 0.02);
  EXPECT_NEAR(hits[1] / draws, 2.0 / 6, 0.02);
  EXPECT_NEAR(hits[2] / draws, 3.0 / 6, 0.02);
  EXPECT_EQ(hits[3], 0);
}

TEST(ControlPoints, DistinctPositionsAndTheShortfallError) {
  // Cells 0..3 share one position, 4 and 5 have their own: at most 3 distinct control points.
  const std::vector<double> x{1, 1, 1, 1, 2, 3}, speed{5, 5, 5, 5, 1, 1};
  auto cp = sample_control_points_by_speed(MPI_COMM_SELF, 0, 6, 1, x.data(), speed.data(), 3, 7, "test");
  ASSERT_EQ(cp.size(), 3);
  EXPECT_EQ(first_repeated_position(cp), -1);
  const std::string e = test::error_of([&] {
    sample_control_points_by_speed(MPI_COMM_SELF, 0, 6, 1, x.data(), speed.data(), 4, 7, "data.h5ad: obsm/velocity_x");
  });
  EXPECT_EQ(e, "data.h5ad: obsm/velocity_x: only 3 cells have a finite, nonzero velocity at distinct positions, fewer "
               "than the M = 4 control points asked for (lower M)");
}

TEST(ControlPoints, CellIndexFileErrorsNameTheLine) {
  const std::string dir = test::temp_dir(MPI_COMM_SELF);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const std::string good = write("good.txt", "# header\n3\n\n 7 \n0 # first cell\n");
  EXPECT_EQ(read_cell_index_file(good, 10), (std::vector<int64_t>{3, 7, 0}));
  const std::string range = write("range.txt", "1\n10\n");
  EXPECT_EQ(test::error_of([&] { read_cell_index_file(range, 10); }), range + ": line 2: cell index 10 is outside [0, 10)");
  const std::string twice = write("twice.txt", "4\n2\n4\n");
  EXPECT_EQ(test::error_of([&] { read_cell_index_file(twice, 10); }), twice + ": line 3: cell 4 is listed twice (first on line 1)");
  const std::string word = write("word.txt", "4x\n");
  EXPECT_EQ(test::error_of([&] { read_cell_index_file(word, 10); }), word + ": line 1: '4x' is not a cell index (one integer per line)");
  const std::string empty = write("empty.txt", "# nothing\n");
  EXPECT_EQ(test::error_of([&] { read_cell_index_file(empty, 10); }), empty + ": no cell index in the file");
}

TEST(KernelBlocks, CachedRecomputedAndDirectAgree) {
  // dim 10 takes the GEMM expansion; the direct sum is the reference. Cached and recomputed
  // chunks are the same numbers.
  const int64_t rows = 5000, M = 40, dim = 10;
  std::vector<double> x(static_cast<size_t>(rows * dim)), ctrl(static_cast<size_t>(M * dim));
  uint64_t s = 3;
  auto next = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return 100 + 4 * (static_cast<double>(s >> 11) * 0x1.0p-53 - 0.5);   // far from the origin: centring matters
  };
  for (auto& v : x) v = next();
  for (auto& v : ctrl) v = next();
  const double beta = 0.2;
  // 5000 rows in chunks of 1024: the last chunk is shorter.
  KernelBlocks cached(rows, dim, x.data(), ctrl, M, beta, 1e9, 1024), streamed(rows, dim, x.data(), ctrl, M, beta, 0, 1024);
  ASSERT_EQ(cached.chunk_count(), 5);
  ASSERT_EQ(cached.chunk_size(4), 904);
  ASSERT_TRUE(cached.cached());
  ASSERT_FALSE(streamed.cached());
  double worst = 0;
  for (int64_t k = 0; k < cached.chunk_count(); ++k) {
    const double* a = cached.chunk(k);
    const double* b = streamed.chunk(k);
    for (int64_t i = 0; i < cached.chunk_size(k); ++i)
      for (int64_t m = 0; m < M; ++m) {
        ASSERT_EQ(a[i * M + m], b[i * M + m]);
        const int64_t row = cached.chunk_begin(k) + i;
        double d2 = 0;
        for (int64_t q = 0; q < dim; ++q) d2 += std::pow(x[static_cast<size_t>(row * dim + q)] - ctrl[static_cast<size_t>(m * dim + q)], 2);
        const double direct = std::exp(-beta * d2);
        worst = std::max(worst, std::abs(a[i * M + m] - direct) / direct);
      }
  }
  EXPECT_LT(worst, 1e-12);
}

// A single Gaussian centre, f(x) = k(x) C with k = exp(-b |x - c|²): ∇k = -2b k (x - c), so
// div f = -2b k (x - c)·C, curl f = ∇k × C (2-D: the scalar -2b k ((x-c)_0 C_1 - (x-c)_1 C_0)),
// and J f = -2b k² ((x - c)·C) C. The block route of vector_calculus_at_cells gives these exactly.
TEST(VectorCalculus, SingleCentreClosedFormsIn2DAnd3D) {
  const double b = 0.35;
  for (int64_t dim : {2, 3}) {
    const std::vector<double> c = dim == 2 ? std::vector<double>{0.5, -1} : std::vector<double>{0.5, -1, 0.25};
    const std::vector<double> C = dim == 2 ? std::vector<double>{2, -3} : std::vector<double>{2, -3, 1.5};
    const std::vector<double> x = dim == 2 ? std::vector<double>{1.5, 0.25, -0.5, -0.75, 0.5, -1}
                                           : std::vector<double>{1.5, 0.25, 0, -0.5, -0.75, 1, 0.5, -1, 0.25};
    const int64_t rows = 3;
    KernelBlocks blocks(rows, dim, x.data(), c, 1, b, 1e9, 2);   // chunks of 2 rows: the calculus spans chunks
    std::vector<double> f(static_cast<size_t>(rows * dim));
    for (int64_t i = 0; i < rows; ++i) {
      double d2 = 0;
      for (int64_t q = 0; q < dim; ++q) d2 += std::pow(x[static_cast<size_t>(i * dim + q)] - c[static_cast<size_t>(q)], 2);
      for (int64_t q = 0; q < dim; ++q) f[static_cast<size_t>(i * dim + q)] = std::exp(-b * d2) * C[static_cast<size_t>(q)];
    }
    const CellCalculus calc = vector_calculus_at_cells(blocks, C, f);
    for (int64_t i = 0; i < rows; ++i) {
      double d2 = 0, dc = 0;
      std::vector<double> r(static_cast<size_t>(dim));
      for (int64_t q = 0; q < dim; ++q) {
        r[static_cast<size_t>(q)] = x[static_cast<size_t>(i * dim + q)] - c[static_cast<size_t>(q)];
        d2 += r[static_cast<size_t>(q)] * r[static_cast<size_t>(q)];
        dc += r[static_cast<size_t>(q)] * C[static_cast<size_t>(q)];
      }
      const double k = std::exp(-b * d2), g = -2 * b * k;
      EXPECT_NEAR(calc.divergence[static_cast<size_t>(i)], g * dc, 1e-14) << dim << "-D cell " << i;
      for (int64_t p = 0; p < dim; ++p)
        EXPECT_NEAR(calc.acceleration[static_cast<size_t>(i * dim + p)], g * k * dc * C[static_cast<size_t>(p)], 1e-14);
      if (dim == 2) {
        EXPECT_NEAR(calc.curl[static_cast<size_t>(i)], g * (r[0] * C[1] - r[1] * C[0]), 1e-14);
      } else {
        const double expect[3] = {g * (r[1] * C[2] - r[2] * C[1]), g * (r[2] * C[0] - r[0] * C[2]), g * (r[0] * C[1] - r[1] * C[0])};
        for (int q = 0; q < 3; ++q) EXPECT_NEAR(calc.curl[static_cast<size_t>(i * 3 + q)], expect[q], 1e-14);
      }
    }
    // Cell 2 sits on the centre: no divergence, no curl.
    EXPECT_EQ(calc.divergence[2], 0);
  }
}
