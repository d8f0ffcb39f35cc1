#include "preprocess/block_krylov.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include <mpi.h>

extern "C" {
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
             const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m, double* w,
             double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork, const int* liwork,
             int* info);
}

namespace velofield::preprocess {

namespace {

// Eigenpairs il..iu (1-based, ascending) of a symmetric n × n column-major matrix (destroyed).
void symmetric_eigen(int n, double* a, int il, int iu, std::vector<double>& w, std::vector<double>& z) {
  const int want = iu - il + 1;
  w.assign(static_cast<size_t>(n), 0.0);
  z.assign(static_cast<size_t>(n) * static_cast<size_t>(want), 0.0);
  std::vector<int> isuppz(static_cast<size_t>(2 * std::max(1, want)));
  const double vl = 0, vu = 0, abstol = 0;
  int m = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevr_("V", "I", "U", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &n, isuppz.data(), &work_query,
          &lwork, &iwork_query, &liwork, &info);
  lwork = static_cast<int>(work_query) + 1;
  liwork = iwork_query;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  dsyevr_("V", "I", "U", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &n, isuppz.data(), work.data(),
          &lwork, iwork.data(), &liwork, &info);
  if (info != 0 || m != want) throw Error("PCA: LAPACK dsyevr failed (info " + std::to_string(info) + ")");
  w.resize(static_cast<size_t>(want));
}

// Deterministic uniform(-1, 1): the top 53 bits of a Mersenne twister draw (portable, unlike
// std::uniform_real_distribution).
double uniform_pm1(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-52 - 1.0; }

double norm(int64_t n, const double* x) { return cblas_dnrm2(static_cast<int>(n), x, 1); }

// Makes columns [c0, c0 + b) of V (n × ?, column-major) orthonormal to columns [0, c0) and to each
// other: two passes of block classical Gram–Schmidt, then modified Gram–Schmidt inside the block.
// A column that vanishes (rank deficiency) is replaced by a random one and orthogonalised again.
void orthonormalize_block(int64_t n, double* V, int c0, int b, std::mt19937_64& gen) {
  const int ni = static_cast<int>(n);
  std::vector<double> h(static_cast<size_t>(std::max(1, c0)) * static_cast<size_t>(b));
  double* Z = V + static_cast<int64_t>(c0) * n;
  for (int pass = 0; pass < 2 && c0 > 0; ++pass) {
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c0, b, ni, 1.0, V, ni, Z, ni, 0.0, h.data(), c0);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ni, b, c0, -1.0, V, ni, h.data(), c0, 1.0, Z, ni);
  }
  for (int j = 0; j < b; ++j) {
    double* z = Z + static_cast<int64_t>(j) * n;
    for (int attempt = 0;; ++attempt) {
      const double before = norm(n, z);
      const int prior = c0 + j;
      for (int pass = 0; pass < 2; ++pass) {
        if (attempt > 0 && prior > 0) {
          // A fresh random column: project out the whole basis again.
          cblas_dgemv(CblasColMajor, CblasTrans, ni, prior, 1.0, V, ni, z, 1, 0.0, h.data(), 1);
          cblas_dgemv(CblasColMajor, CblasNoTrans, ni, prior, -1.0, V, ni, h.data(), 1, 1.0, z, 1);
        } else {
          for (int i = 0; i < j; ++i) {
            const double* q = Z + static_cast<int64_t>(i) * n;
            cblas_daxpy(ni, -cblas_ddot(ni, q, 1, z, 1), q, 1, z, 1);
          }
        }
      }
      const double after = norm(n, z);
      if (after > 1e-10 * std::max(before, 1e-300) && after > 0) {
        cblas_dscal(ni, 1.0 / after, z, 1);
        break;
      }
      if (attempt > 5) throw Error("PCA: the Krylov basis cannot be extended (operator of rank < k?)");
      for (int64_t r = 0; r < n; ++r) z[r] = uniform_pm1(gen);
    }
  }
}

}  // namespace

TopEigenResult top_eigenpairs_dense(int64_t n, std::vector<double> matrix, int k) {
  TopEigenResult out;
  const int ni = static_cast<int>(n);
  std::vector<double> w, z;
  symmetric_eigen(ni, matrix.data(), ni - k + 1, ni, w, z);
  out.values.resize(static_cast<size_t>(k));
  out.vectors.resize(static_cast<size_t>(n * k));
  for (int j = 0; j < k; ++j) {   // ascending → descending
    out.values[static_cast<size_t>(j)] = w[static_cast<size_t>(k - 1 - j)];
    std::copy_n(z.data() + static_cast<int64_t>(k - 1 - j) * n, n, out.vectors.data() + static_cast<int64_t>(j) * n);
  }
  out.converged = true;
  return out;
}

TopEigenResult top_eigenpairs(int64_t n, const BlockOperator& apply, const TopEigenOptions& o) {
  const int k = o.k, b = std::max(1, o.block);
  if (k < 1 || k >= n) throw Error("internal: top_eigenpairs: k = " + std::to_string(k) + " for n = " + std::to_string(n));
  int m = o.max_basis > 0 ? o.max_basis : std::max(8 * k + 2 * b, 8 * b);
  m = (m + b - 1) / b * b;
  // Small problems: the whole matrix, column block by column block, then LAPACK.
  if (n <= m + 2 * b) {
    std::vector<double> full(static_cast<size_t>(n * n)), eye(static_cast<size_t>(n) * static_cast<size_t>(b));
    int applies = 0;
    for (int64_t c = 0; c < n; c += b) {
      const int w = static_cast<int>(std::min<int64_t>(b, n - c));
      std::fill(eye.begin(), eye.end(), 0.0);
      for (int j = 0; j < w; ++j) eye[static_cast<size_t>(j * n + c + j)] = 1.0;
      std::vector<double> y(static_cast<size_t>(n) * static_cast<size_t>(b));
      apply(eye.data(), b, y.data());
      ++applies;
      std::copy_n(y.data(), n * w, full.data() + c * n);
    }
    for (int64_t i = 0; i < n; ++i)   // symmetrise (rounding)
      for (int64_t j = i + 1; j < n; ++j) {
        const double v = 0.5 * (full[static_cast<size_t>(i * n + j)] + full[static_cast<size_t>(j * n + i)]);
        full[static_cast<size_t>(i * n + j)] = full[static_cast<size_t>(j * n + i)] = v;
      }
    TopEigenResult r = top_eigenpairs_dense(n, std::move(full), k);
    r.applies = applies;
    return r;
  }
  const int ni = static_cast<int>(n);
  const int keep = std::min(m - 2 * b, std::max(k + 2 * b, m / 2));
  std::mt19937_64 gen(o.seed);
  std::vector<double> V(static_cast<size_t>(n) * static_cast<size_t>(m + b)), W(static_cast<size_t>(n) * static_cast<size_t>(m));
  std::vector<double> T, theta, Y, X, CX, R;
  TopEigenResult out;
  for (int64_t i = 0; i < n * b; ++i) V[static_cast<size_t>(i)] = uniform_pm1(gen);
  orthonormalize_block(n, V.data(), 0, b, gen);
  int cols = b;        // orthonormal columns of V
  int done = 0;        // columns of V whose product is in W
  double t_apply = 0, t_orth = 0, t_rr = 0, t_eig = 0, t_ritz = 0;
  for (int cycle = 0;; ++cycle) {
    // Expand: W_j = A V_j, V_{j+1} = orth(W_j), until the basis is full.
    while (done < cols) {
      double t = MPI_Wtime();
      apply(V.data() + static_cast<int64_t>(done) * n, b, W.data() + static_cast<int64_t>(done) * n);
      t_apply += MPI_Wtime() - t;
      ++out.applies;
      done += b;
      if (cols + b <= m) {
        t = MPI_Wtime();
        std::copy_n(W.data() + static_cast<int64_t>(done - b) * n, n * b, V.data() + static_cast<int64_t>(cols) * n);
        orthonormalize_block(n, V.data(), cols, b, gen);
        cols += b;
        t_orth += MPI_Wtime() - t;
      }
    }
    // Rayleigh–Ritz: T = V^T A V from the stored products.
    double t = MPI_Wtime();
    T.assign(static_cast<size_t>(cols) * static_cast<size_t>(cols), 0.0);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, cols, cols, ni, 1.0, V.data(), ni, W.data(), ni, 0.0, T.data(), cols);
    for (int i = 0; i < cols; ++i)
      for (int j = i + 1; j < cols; ++j) {
        const double v = 0.5 * (T[static_cast<size_t>(i * cols + j)] + T[static_cast<size_t>(j * cols + i)]);
        T[static_cast<size_t>(i * cols + j)] = T[static_cast<size_t>(j * cols + i)] = v;
      }
    const int p = std::min(cols, keep);
    t_rr += MPI_Wtime() - t;
    t = MPI_Wtime();
    std::vector<double> w_asc, z_asc;
    symmetric_eigen(cols, T.data(), cols - p + 1, cols, w_asc, z_asc);
    theta.resize(static_cast<size_t>(p));
    Y.resize(static_cast<size_t>(cols) * static_cast<size_t>(p));
    for (int j = 0; j < p; ++j) {
      theta[static_cast<size_t>(j)] = w_asc[static_cast<size_t>(p - 1 - j)];
      std::copy_n(z_asc.data() + static_cast<int64_t>(p - 1 - j) * cols, cols, Y.data() + static_cast<int64_t>(j) * cols);
    }
    t_eig += MPI_Wtime() - t;
    t = MPI_Wtime();
    X.resize(static_cast<size_t>(n) * static_cast<size_t>(p));
    CX.resize(X.size());
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ni, p, cols, 1.0, V.data(), ni, Y.data(), cols, 0.0, X.data(), ni);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, ni, p, cols, 1.0, W.data(), ni, Y.data(), cols, 0.0, CX.data(), ni);
    double worst = 0;
    const double scale = std::max(std::abs(theta[0]), 1e-300);
    for (int j = 0; j < k; ++j) {
      R.assign(CX.begin() + static_cast<int64_t>(j) * n, CX.begin() + static_cast<int64_t>(j + 1) * n);
      cblas_daxpy(ni, -theta[static_cast<size_t>(j)], X.data() + static_cast<int64_t>(j) * n, 1, R.data(), 1);
      worst = std::max(worst, norm(n, R.data()) / scale);
    }
    out.relative_residual = worst;
    out.restarts = cycle;
    t_ritz += MPI_Wtime() - t;
    log().detail(cat("block Krylov cycle ", cycle, ": basis ", cols, ", residual ", worst, "; seconds so far: apply ", t_apply,
                     ", orthogonalise ", t_orth, ", projection ", t_rr, ", small eigenproblem ", t_eig, ", Ritz vectors ", t_ritz));
    if (worst <= o.tol || cycle >= o.max_restarts) {
      out.converged = worst <= o.tol;
      out.values.assign(theta.begin(), theta.begin() + k);
      out.vectors.assign(X.begin(), X.begin() + static_cast<int64_t>(k) * n);
      return out;
    }
    // Thick restart: keep the p best Ritz pairs (their products are known), continue the Krylov
    // sequence from the last block's product, which is orthogonal to all of the old basis.
    std::copy_n(W.data() + static_cast<int64_t>(done - b) * n, n * b, V.data() + static_cast<int64_t>(cols) * n);
    orthonormalize_block(n, V.data(), cols, b, gen);
    std::vector<double> next(V.begin() + static_cast<int64_t>(cols) * n, V.begin() + static_cast<int64_t>(cols + b) * n);
    std::copy(X.begin(), X.end(), V.begin());
    std::copy(CX.begin(), CX.end(), W.begin());
    std::copy(next.begin(), next.end(), V.begin() + static_cast<int64_t>(p) * n);
    orthonormalize_block(n, V.data(), p, b, gen);   // rounding only: it is orthogonal already
    cols = p + b;
    done = p;
  }
}

}  // namespace velofield::preprocess
