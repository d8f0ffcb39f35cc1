#include "preprocess/pca.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "core/partition.hpp"
#include "core/log.hpp"
#include "preprocess/block_krylov.hpp"
#include "preprocess/csr_access.hpp"

namespace velofield::preprocess {

void reduce_sum_identical(MPI_Comm comm, double* values, int64_t count) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (size == 1) return;
  constexpr int64_t piece = int64_t{1} << 27;
  for (int64_t off = 0; off < count; off += piece) {
    const int c = static_cast<int>(std::min(piece, count - off));
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : values + off, values + off, c, MPI_DOUBLE, MPI_SUM, 0, comm);
    MPI_Bcast(values + off, c, MPI_DOUBLE, 0, comm);
  }
}

namespace {

// The sparse passes are the hot loops: compiled for AVX-512 and AVX2 as well as the baseline, the
// best one picked at load time (GCC function multiversioning). The versions may round differently
// (FMA or not), but every rank of a run uses the same one.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VELOFIELD_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define VELOFIELD_INLINE __attribute__((always_inline)) inline
#else
#define VELOFIELD_SIMD_CLONES
#define VELOFIELD_INLINE inline
#endif

// The rank's rows restricted to the PCA genes: columns renumbered 0..G_s-1, float values.
struct PcaRows {
  int64_t rows = 0;
  std::vector<int64_t> ptr{0};
  std::vector<int32_t> col;
  std::vector<float> val;
};

PcaRows restrict_rows(const CsrMatrix& X, const std::vector<int64_t>& genes) {
  std::vector<int32_t> map(static_cast<size_t>(X.cols), -1);
  for (size_t j = 0; j < genes.size(); ++j) map[static_cast<size_t>(genes[j])] = static_cast<int32_t>(j);
  PcaRows r;
  r.rows = X.rows;
  r.ptr.assign(static_cast<size_t>(X.rows + 1), 0);
  visit_csr(X, [&](const int64_t* indptr, const auto* idx, const auto* val) {
    r.col.reserve(static_cast<size_t>(indptr[X.rows]));
    r.val.reserve(static_cast<size_t>(indptr[X.rows]));
    for (int64_t i = 0; i < X.rows; ++i) {
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const int32_t j = map[static_cast<size_t>(idx[k])];
        if (j < 0 || val[k] == 0) continue;
        r.col.push_back(j);
        r.val.push_back(static_cast<float>(val[k]));
      }
      r.ptr[static_cast<size_t>(i + 1)] = static_cast<int64_t>(r.col.size());
    }
  });
  return r;
}

// Z (G × b, row-major, this rank's part) = (A − 1μᵀ)ᵀ (A − 1μᵀ) Q for Q (G × b, row-major): one
// pass over the nonzeros; each row's centred product y = A_i Q − μᵀQ is scattered straight back.
// Blocks of 8 doubles are GCC vector values (one AVX-512 register, two AVX2, four SSE2).
typedef double Vec8 __attribute__((vector_size(64)));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"   // the helpers below are always inlined: no vector crosses a call
#endif

VELOFIELD_INLINE Vec8 load8(const double* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

VELOFIELD_INLINE void store8(double* p, Vec8 v) { std::memcpy(p, &v, sizeof v); }

template <int B>
VELOFIELD_INLINE void gram_apply_sparse_fixed(const PcaRows& A, const double* mu, const double* Q, int64_t G, double* Z) {
  static_assert(B % 8 == 0, "blocks of 8");
  constexpr int NV = B / 8;
  Vec8 muQ[NV], ysum[NV];
  for (int v = 0; v < NV; ++v) muQ[v] = ysum[v] = Vec8{};
  for (int64_t j = 0; j < G; ++j)
    for (int v = 0; v < NV; ++v) muQ[v] += mu[j] * load8(Q + j * B + 8 * v);
  std::fill(Z, Z + G * B, 0.0);
  const int32_t* col = A.col.data();
  const float* val = A.val.data();
  for (int64_t i = 0; i < A.rows; ++i) {
    Vec8 y[NV];
    for (int v = 0; v < NV; ++v) y[v] = -muQ[v];
    const int64_t begin = A.ptr[static_cast<size_t>(i)], end = A.ptr[static_cast<size_t>(i + 1)];
    // Four independent partial sums: one chain would wait on the FMA latency at every nonzero.
    Vec8 y1[NV], y2[NV], y3[NV];
    for (int v = 0; v < NV; ++v) y1[v] = y2[v] = y3[v] = Vec8{};
    int64_t k = begin;
    for (; k + 4 <= end; k += 4) {
      const double* q0 = Q + static_cast<int64_t>(col[k]) * B;
      const double* q1 = Q + static_cast<int64_t>(col[k + 1]) * B;
      const double* q2 = Q + static_cast<int64_t>(col[k + 2]) * B;
      const double* q3 = Q + static_cast<int64_t>(col[k + 3]) * B;
      const double a0 = val[k], a1 = val[k + 1], a2 = val[k + 2], a3 = val[k + 3];
      for (int v = 0; v < NV; ++v) {
        y[v] += a0 * load8(q0 + 8 * v);
        y1[v] += a1 * load8(q1 + 8 * v);
        y2[v] += a2 * load8(q2 + 8 * v);
        y3[v] += a3 * load8(q3 + 8 * v);
      }
    }
    for (; k < end; ++k) {
      const double a = val[k];
      const double* q = Q + static_cast<int64_t>(col[k]) * B;
      for (int v = 0; v < NV; ++v) y[v] += a * load8(q + 8 * v);
    }
    for (int v = 0; v < NV; ++v) {
      y[v] += (y1[v] + y2[v]) + y3[v];
      ysum[v] += y[v];
    }
    for (k = begin; k < end; ++k) {
      const double a = val[k];
      double* z = Z + static_cast<int64_t>(col[k]) * B;
      for (int v = 0; v < NV; ++v) store8(z + 8 * v, load8(z + 8 * v) + a * y[v]);
    }
  }
  for (int64_t j = 0; j < G; ++j)
    for (int v = 0; v < NV; ++v) store8(Z + j * B + 8 * v, load8(Z + j * B + 8 * v) - mu[j] * ysum[v]);
}

VELOFIELD_SIMD_CLONES void gram_apply_sparse8(const PcaRows& A, const double* mu, const double* Q, int64_t G, double* Z) {
  gram_apply_sparse_fixed<8>(A, mu, Q, G, Z);
}

VELOFIELD_SIMD_CLONES void gram_apply_sparse16(const PcaRows& A, const double* mu, const double* Q, int64_t G, double* Z) {
  gram_apply_sparse_fixed<16>(A, mu, Q, G, Z);
}

// Scores S (rows × k) = (A − 1μᵀ) V for V (G × k, row-major).
VELOFIELD_SIMD_CLONES void project_rows(const PcaRows& A, const double* muV, const double* V, int k, double* S) {
  for (int64_t i = 0; i < A.rows; ++i) {
    double* s = S + i * k;
    for (int c = 0; c < k; ++c) s[c] = -muV[c];
    for (int64_t t = A.ptr[static_cast<size_t>(i)]; t < A.ptr[static_cast<size_t>(i + 1)]; ++t) {
      const double a = A.val[static_cast<size_t>(t)];
      const double* v = V + static_cast<int64_t>(A.col[static_cast<size_t>(t)]) * k;
      for (int c = 0; c < k; ++c) s[c] += a * v[c];
    }
  }
}

void gram_apply_sparse(const PcaRows& A, const double* mu, const double* Q, int64_t G, int b, double* Z) {
  if (b == 8) return gram_apply_sparse8(A, mu, Q, G, Z);
  if (b == 16) return gram_apply_sparse16(A, mu, Q, G, Z);
  // Any other width: in slices of 8, zero-padded.
  std::vector<double> q8(static_cast<size_t>(G) * 8), z8(static_cast<size_t>(G) * 8);
  for (int c0 = 0; c0 < b; c0 += 8) {
    const int w = std::min(8, b - c0);
    for (int64_t j = 0; j < G; ++j)
      for (int c = 0; c < 8; ++c) q8[static_cast<size_t>(j * 8 + c)] = c < w ? Q[j * b + c0 + c] : 0.0;
    gram_apply_sparse8(A, mu, q8.data(), G, z8.data());
    for (int64_t j = 0; j < G; ++j)
      for (int c = 0; c < w; ++c) Z[j * b + c0 + c] = z8[static_cast<size_t>(j * 8 + c)];
  }
}

// The centred Gram matrix Σ_i (a_i − μ)(a_i − μ)ᵀ of the rank's rows, upper triangle, column-major.
void local_gram_dense(const PcaRows& A, const std::vector<double>& mu, std::vector<double>& C) {
  const int64_t G = static_cast<int64_t>(mu.size());
  C.assign(static_cast<size_t>(G * G), 0.0);
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(A.rows, (int64_t{1} << 22) / std::max<int64_t>(G, 1)));
  std::vector<double> D(static_cast<size_t>(chunk * G));
  for (int64_t r0 = 0; r0 < A.rows; r0 += chunk) {
    const int64_t rows = std::min(chunk, A.rows - r0);
    for (int64_t i = 0; i < rows; ++i) {
      double* d = D.data() + i * G;
      for (int64_t j = 0; j < G; ++j) d[j] = -mu[static_cast<size_t>(j)];
      for (int64_t k = A.ptr[static_cast<size_t>(r0 + i)]; k < A.ptr[static_cast<size_t>(r0 + i + 1)]; ++k)
        d[A.col[static_cast<size_t>(k)]] += A.val[static_cast<size_t>(k)];
    }
    // D is rows × G row-major = G × rows column-major: C += D Dᵀ in that view.
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, static_cast<int>(G), static_cast<int>(rows), 1.0, D.data(),
                static_cast<int>(G), 1.0, C.data(), static_cast<int>(G));
  }
}

}  // namespace

std::string choose_pca_solver(int64_t n_obs_local_max, int64_t nnz_local_max, int64_t n_genes, int n_components) {
  // Measured on one core of this machine kind (EPYC, OpenBLAS, 2 ranks sharing the socket): the
  // dense Gram (densify + dsyrk) ~30 GFLOP/s, N·G² flops; the sparse application ~2.2 ns per
  // nonzero for a block of 8 vectors. One Krylov cycle (basis 8k + 16) is k + 2 applications.
  // So the dense Gram pays only for dense data with few genes (G < ~66 (k + 2) · density).
  const double G = static_cast<double>(n_genes);
  const double applies = n_components + 2.0;
  const double gram = static_cast<double>(n_obs_local_max) * G * G / 30e9 + applies * 2.0 * G * G * 8.0 / 30e9;
  const double krylov = applies * static_cast<double>(nnz_local_max) * 2.2e-9;
  // The dense Gram needs G² doubles on every rank: never above ~1 GB.
  if (G * G * 8.0 > 1e9) return "krylov";
  return gram < krylov ? "gram" : "krylov";
}

PcaResult centered_pca(MPI_Comm comm, int64_t n_obs, const CsrMatrix& X, const std::vector<int64_t>& genes,
                       const PcaOptions& o) {
  const int64_t G = static_cast<int64_t>(genes.size());
  const int k = o.n_components;
  const double t0 = MPI_Wtime();
  PcaRows A = restrict_rows(X, genes);
  const double t_restrict = MPI_Wtime();
  PcaResult out;
  // Means and population variances of the genes.
  std::vector<double> sums(static_cast<size_t>(2 * G), 0.0);
  for (size_t t = 0; t < A.col.size(); ++t) {
    const double v = A.val[t];
    sums[static_cast<size_t>(A.col[t])] += v;
    sums[static_cast<size_t>(G + A.col[t])] += v * v;
  }
  reduce_sum_identical(comm, sums.data(), 2 * G);
  const double N = static_cast<double>(n_obs);
  out.mean.resize(static_cast<size_t>(G));
  out.total_variance = 0;
  for (int64_t j = 0; j < G; ++j) {
    const double mu = sums[static_cast<size_t>(j)] / N;
    out.mean[static_cast<size_t>(j)] = mu;
    out.total_variance += std::max(0.0, sums[static_cast<size_t>(G + j)] / N - mu * mu);
  }

  std::string solver = o.solver;
  if (solver == "auto") {
    int64_t sizes[2] = {A.rows, static_cast<int64_t>(A.col.size())};
    MPI_Allreduce(MPI_IN_PLACE, sizes, 2, MPI_INT64_T, MPI_MAX, comm);
    solver = choose_pca_solver(sizes[0], sizes[1], G, k);
  }
  if (solver != "gram" && solver != "krylov") throw Error("PCA: unknown solver '" + solver + "' (auto, gram or krylov)");
  if (solver == "gram" && static_cast<double>(G) * static_cast<double>(G) * 8.0 > 4e9)
    throw Error("PCA: pca_solver = gram needs a dense " + std::to_string(G) + " × " + std::to_string(G) +
                " matrix on every rank (" + std::to_string(static_cast<double>(G) * static_cast<double>(G) * 8e-9) +
                " GB); use pca_solver = krylov (or auto)");
  out.solver = solver;

  const double t_stats = MPI_Wtime();
  double t_gram = t_stats;
  TopEigenOptions eo;
  eo.k = k;
  eo.block = o.block;
  eo.seed = o.seed;
  eo.tol = o.tol;
  TopEigenResult eig;
  if (solver == "gram") {
    std::vector<double> C;
    local_gram_dense(A, out.mean, C);
    for (int64_t c = 0; c < G; ++c)   // lower triangle from the upper one
      for (int64_t r = c + 1; r < G; ++r) C[static_cast<size_t>(c * G + r)] = C[static_cast<size_t>(r * G + c)];
    // Each rank keeps the sum of a slab of rows and applies only that slab: the application is
    // split over ranks like the accumulation was, and one small all-gather puts it together.
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const BlockPartition slabs{G, size};
    std::vector<int> counts(static_cast<size_t>(size)), row_counts(static_cast<size_t>(size)), row_displs(static_cast<size_t>(size));
    for (int r = 0; r < size; ++r) counts[static_cast<size_t>(r)] = static_cast<int>(slabs.size(r) * G);
    const int64_t my_rows = slabs.size(rank);
    std::vector<double> slab(static_cast<size_t>(my_rows * G));
    MPI_Reduce_scatter(C.data(), slab.data(), counts.data(), MPI_DOUBLE, MPI_SUM, comm);
    C = std::vector<double>();
    for (double& v : slab) v /= N;
    t_gram = MPI_Wtime();
    std::vector<double> part, whole;
    eig = top_eigenpairs(G, [&](const double* Xb, int b, double* Yb) {
      // part (b × my_rows, column-major) = Xᵀ · slabᵀ: row-major my_rows × b, ready to gather.
      part.resize(static_cast<size_t>(my_rows * b));
      whole.resize(static_cast<size_t>(G * b));
      if (my_rows > 0)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, b, static_cast<int>(my_rows), static_cast<int>(G), 1.0, Xb,
                    static_cast<int>(G), slab.data(), static_cast<int>(G), 0.0, part.data(), b);
      for (int r = 0; r < size; ++r) {
        row_counts[static_cast<size_t>(r)] = static_cast<int>(slabs.size(r) * b);
        row_displs[static_cast<size_t>(r)] = static_cast<int>(slabs.begin(r) * b);
      }
      MPI_Allgatherv(part.data(), static_cast<int>(my_rows * b), MPI_DOUBLE, whole.data(), row_counts.data(),
                     row_displs.data(), MPI_DOUBLE, comm);
      for (int c = 0; c < b; ++c)
        for (int64_t j = 0; j < G; ++j) Yb[c * G + j] = whole[static_cast<size_t>(j * b + c)];
    }, eo);
  } else {
    std::vector<double> Qr, Zr;
    eig = top_eigenpairs(G, [&](const double* Xb, int b, double* Yb) {
      // Column-major (solver) ↔ row-major (gather-friendly) around the sparse pass.
      Qr.resize(static_cast<size_t>(G * b));
      Zr.resize(static_cast<size_t>(G * b));
      for (int c = 0; c < b; ++c)
        for (int64_t j = 0; j < G; ++j) Qr[static_cast<size_t>(j * b + c)] = Xb[c * G + j];
      gram_apply_sparse(A, out.mean.data(), Qr.data(), G, b, Zr.data());
      reduce_sum_identical(comm, Zr.data(), G * b);
      for (int c = 0; c < b; ++c)
        for (int64_t j = 0; j < G; ++j) Yb[c * G + j] = Zr[static_cast<size_t>(j * b + c)] / N;
    }, eo);
  }
  if (!eig.converged)
    log().warn("PCA: the eigensolver stopped at relative residual " + std::to_string(eig.relative_residual) +
               " (tolerance " + std::to_string(o.tol) + ")");
  const double t_eigen = MPI_Wtime();
  out.applies = eig.applies;
  out.relative_residual = eig.relative_residual;

  // Components (genes × k, row-major) and scores X_pca = (A − 1μᵀ) V.
  out.components.resize(static_cast<size_t>(G * k));
  for (int c = 0; c < k; ++c)
    for (int64_t j = 0; j < G; ++j) out.components[static_cast<size_t>(j * k + c)] = eig.vectors[static_cast<size_t>(c * G + j)];
  std::vector<double> muV(static_cast<size_t>(k), 0.0);
  for (int64_t j = 0; j < G; ++j)
    for (int c = 0; c < k; ++c) muV[static_cast<size_t>(c)] += out.mean[static_cast<size_t>(j)] * out.components[static_cast<size_t>(j * k + c)];
  out.x_pca = DenseArray::zeros({A.rows, k}, DType::f64);
  double* S = out.x_pca.values.data<double>();
  project_rows(A, muV.data(), out.components.data(), k, S);
  // svd_flip on U: the entry of largest |score| (lowest cell index on ties) is made positive.
  int64_t first = 0;
  MPI_Exscan(&A.rows, &first, 1, MPI_INT64_T, MPI_SUM, comm);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) first = 0;
  std::vector<double> best(static_cast<size_t>(k), 0.0);
  for (int64_t i = 0; i < A.rows; ++i)
    for (int c = 0; c < k; ++c) best[static_cast<size_t>(c)] = std::max(best[static_cast<size_t>(c)], std::abs(S[i * k + c]));
  MPI_Allreduce(MPI_IN_PLACE, best.data(), k, MPI_DOUBLE, MPI_MAX, comm);
  std::vector<int64_t> where(static_cast<size_t>(k), std::numeric_limits<int64_t>::max());
  for (int64_t i = 0; i < A.rows; ++i)
    for (int c = 0; c < k; ++c)
      if (std::abs(S[i * k + c]) == best[static_cast<size_t>(c)] && where[static_cast<size_t>(c)] == std::numeric_limits<int64_t>::max())
        where[static_cast<size_t>(c)] = first + i;
  MPI_Allreduce(MPI_IN_PLACE, where.data(), k, MPI_INT64_T, MPI_MIN, comm);
  std::vector<double> sign(static_cast<size_t>(k), 0.0);
  for (int c = 0; c < k; ++c) {
    const int64_t g = where[static_cast<size_t>(c)];
    if (g >= first && g < first + A.rows) sign[static_cast<size_t>(c)] = S[(g - first) * k + c] < 0 ? -1.0 : 1.0;
  }
  MPI_Allreduce(MPI_IN_PLACE, sign.data(), k, MPI_DOUBLE, MPI_SUM, comm);
  for (int c = 0; c < k; ++c) {
    const double s = sign[static_cast<size_t>(c)] < 0 ? -1.0 : 1.0;
    if (s > 0) continue;
    for (int64_t i = 0; i < A.rows; ++i) S[i * k + c] = -S[i * k + c];
    for (int64_t j = 0; j < G; ++j) out.components[static_cast<size_t>(j * k + c)] = -out.components[static_cast<size_t>(j * k + c)];
  }
  log().detail(cat("PCA timings (s): restrict ", t_restrict - t0, ", moments ", t_stats - t_restrict, ", gram ",
                   t_gram - t_stats, ", eigen ", t_eigen - t_gram, ", scores+signs ", MPI_Wtime() - t_eigen));
  out.explained_variance = eig.values;
  out.explained_variance_ratio.resize(static_cast<size_t>(k));
  for (int c = 0; c < k; ++c)
    out.explained_variance_ratio[static_cast<size_t>(c)] = out.total_variance > 0 ? eig.values[static_cast<size_t>(c)] / out.total_variance : 0.0;
  return out;
}

}  // namespace velofield::preprocess
