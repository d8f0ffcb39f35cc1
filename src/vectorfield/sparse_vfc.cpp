#include "vectorfield/sparse_vfc.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "core/error.hpp"
#include "core/lapack.hpp"
#include "core/log.hpp"
#include "gaussian_kernel_block.hpp"
#include "vectorfield/fit_layout.hpp"
#include "vectorfield/fixed_point_sum.hpp"
#include "vectorfield/serial_blas.hpp"

namespace velofield {

namespace {

constexpr double kPi = 3.14159265358979323846;

double squared_residual(const double* y, const double* v, int64_t dim) {
  double r = 0;
  for (int64_t q = 0; q < dim; ++q) r += (y[q] - v[q]) * (y[q] - v[q]);
  return r;
}

// tr(Cᵀ K C) for the symmetric K (M × M) and C (M × D).
double kernel_norm(const std::vector<double>& K, const std::vector<double>& C, int64_t M, int64_t D) {
  std::vector<double> KC(static_cast<size_t>(M * D));
  const SerialBlas serial;   // a thin GEMM: OpenBLAS rounds it differently with threads
  blas::gemm_rowmajor(false, false, M, D, M, 1.0, K.data(), M, C.data(), D, 0.0, KC.data(), D);
  double t = 0;
  for (size_t e = 0; e < KC.size(); ++e) t += C[e] * KC[e];
  return t;
}

}  // namespace

SparseVfcFit fit_sparse_vfc(MPI_Comm comm, const SparseVfcData& data, const ControlPoints& ctrl, KernelBlocks& blocks,
                            const SparseVfcOptions& opt) {
  const int64_t rows = data.rows, D = data.dim, M = ctrl.size();
  const double beta = blocks.beta();
  SparseVfcFit fit;
  const int64_t chunks = blocks.chunk_count();
  const ChunkOrderedSums chunk_sums(comm, chunks);
  // Scalar sums over the cells: a partial per chunk (its rows in order), the partials added in
  // global chunk order, so the total is the same bits at any rank count.
  auto sum_over_chunks = [&](int width, auto&& add_row) {
    std::vector<double> partial(static_cast<size_t>(chunks * width), 0.0);
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t b = blocks.chunk_begin(k), n = blocks.chunk_size(k);
      for (int64_t i = b; i < b + n; ++i) add_row(i, partial.data() + k * width);
    }
    return chunk_sums.sum(partial, width);
  };

  double y_max = 0;
  const std::vector<double> totals = sum_over_chunks(2, [&](int64_t i, double* acc) {
    if (!data.valid[i]) return;
    acc[0] += 1;
    for (int64_t q = 0; q < D; ++q) {
      acc[1] += data.y[i * D + q] * data.y[i * D + q];
      y_max = std::max(y_max, std::abs(data.y[i * D + q]));
    }
  });
  MPI_Allreduce(MPI_IN_PLACE, &y_max, 1, MPI_DOUBLE, MPI_MAX, comm);
  const int64_t n_valid = static_cast<int64_t>(totals[0]);
  const double y_sq = totals[1];
  if (n_valid == 0) throw Error("internal: SparseVFC called without a cell to fit");
  fit.n_valid = n_valid;

  // K on the centred control points (the same distances), replicated: M × M.
  std::vector<double> K(static_cast<size_t>(M * M));
  kernels::gaussian_kernel_block(M, M, D, blocks.centred_ctrl().data(), blocks.centred_ctrl().data(), beta, K.data());

  std::vector<double>& V = fit.V;
  std::vector<double>& C = fit.coef;
  std::vector<double>& P = fit.P;
  V.assign(static_cast<size_t>(rows * D), 0.0);
  C.assign(static_cast<size_t>(M * D), 0.0);
  P.assign(static_cast<size_t>(rows), 0.0);
  std::vector<double> residual(static_cast<size_t>(rows), 0.0);

  double sigma2 = y_sq / static_cast<double>(n_valid * D);
  if (sigma2 < 1e-8) sigma2 = 1e-7;
  double gamma = opt.gamma, E = 1, tecr = 1;
  int64_t it = 0;

  // L = UᵀPU and R = UᵀPY are sums of one partial per chunk, added in fixed point: the same bits
  // whichever rank holds which chunks. Bounds of a chunk's partials: √P ≤ 1 and U ≤ 1, so an
  // entry of L is at most the chunk's rows, one of R at most rows · max|y|.
  const int64_t packed_lhs = M * (M + 1) / 2;
  const double chunk_rows = static_cast<double>(blocks.chunk_rows());
  FixedPointSums normal_equations({{packed_lhs, FixedPointSums::exponent_above(chunk_rows)},
                                   {M * D, FixedPointSums::exponent_above(chunk_rows * y_max)}});
  std::vector<double> lhs(static_cast<size_t>(M * M)), rhs(static_cast<size_t>(M * D));
  const int64_t A = M + D;
  std::vector<double> gram(static_cast<size_t>(A * A));
  std::vector<double> weighted, sqrt_p(static_cast<size_t>(rows));

  while (it < opt.MaxIter && tecr > opt.ecr && sigma2 > 1e-8) {
    const double t0 = MPI_Wtime();
    const std::clock_t c0 = std::clock();
    // E-step: the posterior that each cell is an inlier.
    double min_nonzero = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < rows; ++i) {
      if (!data.valid[i]) continue;
      const double r = squared_residual(data.y + i * D, V.data() + i * D, D);
      residual[static_cast<size_t>(i)] = r;
      const double t = std::exp(-r / (2 * sigma2));
      P[static_cast<size_t>(i)] = t;
      if (t > 0) min_nonzero = std::min(min_nonzero, t);
    }
    MPI_Allreduce(MPI_IN_PLACE, &min_nonzero, 1, MPI_DOUBLE, MPI_MIN, comm);
    if (!std::isfinite(min_nonzero))
      throw Error(cat("SparseVFC: every cell's velocity lies so far from the current fit that all inlier likelihoods "
                      "underflow (iteration ", it, ", sigma2 = ", sigma2, ")"));
    const double outlier = std::pow(2 * kPi * sigma2, static_cast<double>(D) / 2) * (1 - gamma) / (gamma * opt.a);
    // Σ P r, Σ P (before the floor: dynamo's energy)
    const std::vector<double> sums = sum_over_chunks(2, [&](int64_t i, double* acc) {
      if (!data.valid[i]) return;
      double t = P[static_cast<size_t>(i)];
      if (t == 0) t = min_nonzero;   // dynamo: exact zeros take the smallest nonzero likelihood
      const double p = t / (t + outlier);
      acc[0] += p * residual[static_cast<size_t>(i)];
      acc[1] += p;
      P[static_cast<size_t>(i)] = std::max(p, opt.minP);
    });
    const double E_old = E;
    E = sums[0] / (2 * sigma2) + sums[1] * std::log(sigma2) * static_cast<double>(D) / 2 +
        opt.lambda / 2 * kernel_norm(K, C, M, D);
    tecr = std::abs((E - E_old) / E);
    fit.energy.push_back(E);
    fit.energy_change.push_back(tecr);

    // M-step: one weighted SYRK per chunk over the augmented rows √P_i [U_i | y_i] gives both
    // the chunk's part of L = UᵀPU (the upper-left M × M block) and of R = UᵀPY (upper right).
    normal_equations.clear();
    for (int64_t i = 0; i < rows; ++i) sqrt_p[static_cast<size_t>(i)] = data.valid[i] ? std::sqrt(P[static_cast<size_t>(i)]) : 0.0;
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t b = blocks.chunk_begin(k), n = blocks.chunk_size(k);
      weighted.resize(static_cast<size_t>(n * A));
      kernels::scale_rows(n, M, sqrt_p.data() + b, blocks.chunk(k), M, weighted.data(), A);
      for (int64_t i = 0; i < n; ++i) {
        const double w = sqrt_p[static_cast<size_t>(b + i)];
        for (int64_t q = 0; q < D; ++q)
          weighted[static_cast<size_t>(i * A + M + q)] = w == 0 ? 0.0 : w * data.y[(b + i) * D + q];
      }
      blas::syrk_ata_upper_rowmajor(A, n, 1.0, weighted.data(), A, 0.0, gram.data(), A);
      // The packed upper triangle of L, then R: the layout of the sums.
      for (int64_t r = 0, e = 0; r < M; e += M - r, ++r) {
        normal_equations.add(e, gram.data() + r * A + r, M - r);
        normal_equations.add(packed_lhs + r * D, gram.data() + r * A + M, D);
      }
    }
    normal_equations.allreduce(comm);
    const double reg = opt.lambda * sigma2;
    for (int64_t r = 0, e = 0; r < M; ++r)
      for (int64_t c = r; c < M; ++c, ++e)
        lhs[static_cast<size_t>(r * M + c)] = normal_equations.value(e) + reg * K[static_cast<size_t>(r * M + c)];
    for (int64_t e = 0; e < M * D; ++e) rhs[static_cast<size_t>(e)] = normal_equations.value(packed_lhs + e);
    {
      const SerialBlas serial;   // OpenBLAS' threaded Cholesky rounds differently
      fit.last_solve = solve_coefficients(opt.solver, M, D, lhs, rhs, C);

      // V = U C (a thin GEMM: threaded, OpenBLAS rounds it differently), then sigma2 and gamma
      // from the floored P.
      for (int64_t k = 0; k < chunks; ++k) {
        const int64_t b = blocks.chunk_begin(k), n = blocks.chunk_size(k);
        blas::gemm_rowmajor(false, false, n, D, M, 1.0, blocks.chunk(k), M, C.data(), D, 0.0, V.data() + b * D, D);
      }
    }
    // Σ P ||y - v||², Σ P, #{P > theta}
    const std::vector<double> stats = sum_over_chunks(3, [&](int64_t i, double* acc) {
      if (!data.valid[i]) return;
      const double p = P[static_cast<size_t>(i)];
      acc[0] += p * squared_residual(data.y + i * D, V.data() + i * D, D);
      acc[1] += p;
      acc[2] += p > opt.theta ? 1 : 0;
    });
    sigma2 = stats[0] / (static_cast<double>(D) * stats[1]);
    gamma = std::clamp(stats[2] / static_cast<double>(n_valid), 0.05, 0.95);
    ++it;
    double seconds[2] = {MPI_Wtime() - t0, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC};
    MPI_Allreduce(MPI_IN_PLACE, seconds, 2, MPI_DOUBLE, MPI_MAX, comm);
    fit.iteration_seconds.push_back(seconds[0]);
    fit.iteration_cpu_seconds.push_back(seconds[1]);
    log().info(cat("SparseVFC: iteration ", it - 1, ": energy ", E, ", change ", tecr, ", sigma2 ", sigma2,
                   ", gamma ", gamma, ", rcond(L) ", fit.last_solve.rcond, " (", seconds[0], " s)"));
  }
  for (int64_t i = 0; i < rows; ++i)
    if (!data.valid[i]) P[static_cast<size_t>(i)] = std::numeric_limits<double>::quiet_NaN();
  fit.sigma2 = sigma2;
  fit.gamma = gamma;
  fit.iterations = it;
  fit.converged = tecr <= opt.ecr || sigma2 <= 1e-8;
  return fit;
}

double mean_velocity_cosine(MPI_Comm comm, const SparseVfcData& data, const std::vector<double>& V,
                            const KernelBlocks& blocks) {
  const int64_t D = data.dim, chunks = blocks.chunk_count();
  std::vector<double> partial(static_cast<size_t>(2 * chunks), 0.0);
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t b = blocks.chunk_begin(k), n = blocks.chunk_size(k);
    for (int64_t i = b; i < b + n; ++i) {
      if (!data.valid[i]) continue;
      double ny = 0, nv = 0, dot = 0;
      for (int64_t q = 0; q < D; ++q) {
        ny += data.y[i * D + q] * data.y[i * D + q];
        nv += V[static_cast<size_t>(i * D + q)] * V[static_cast<size_t>(i * D + q)];
        dot += data.y[i * D + q] * V[static_cast<size_t>(i * D + q)];
      }
      partial[static_cast<size_t>(2 * k)] += dot / ((std::sqrt(ny) + 1e-20) * (std::sqrt(nv) + 1e-20));
      partial[static_cast<size_t>(2 * k + 1)] += 1;
    }
  }
  const std::vector<double> sums = ChunkOrderedSums(comm, chunks).sum(partial, 2);
  return sums[1] > 0 ? sums[0] / sums[1] : 0;
}

}  // namespace velofield
