#pragma once
// The Fortran BLAS/LAPACK routines velofield calls (OpenBLAS here, any vendor BLAS on a cluster),
// declared once, plus row-major wrappers: velofield stores dense blocks row-major (C order, as
// anndata does), BLAS is column-major, and a row-major A is the column-major Aᵀ.
//
// Character arguments carry gfortran's hidden string lengths at the end (as LAPACKE declares
// them): omitting them is undefined behaviour with the Fortran-compiled LAPACK routines.
#include <cstddef>
#include <cstdint>

extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc, size_t transa_len, size_t transb_len);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc, size_t uplo_len, size_t trans_len);
void dsymm_(const char* side, const char* uplo, const int* m, const int* n, const double* alpha, const double* a,
            const int* lda, const double* b, const int* ldb, const double* beta, double* c, const int* ldc,
            size_t side_len, size_t uplo_len);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, size_t uplo_len);
void dpocon_(const char* uplo, const int* n, const double* a, const int* lda, const double* anorm, double* rcond,
             double* work, int* iwork, int* info, size_t uplo_len);
double dlansy_(const char* norm, const char* uplo, const int* n, const double* a, const int* lda, double* work,
               size_t norm_len, size_t uplo_len);
void dgesv_(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b, const int* ldb, int* info);
}

namespace velofield::blas {

// 32-bit BLAS integers: every dimension passed here must fit (checked by the callers' sizes:
// chunk rows, control points, dimensions).
inline int as_blas_int(int64_t v) { return static_cast<int>(v); }

// Row-major C (m × n) = alpha · op(A) · op(B) + beta · C, with op(A) m × k and op(B) k × n;
// lda/ldb/ldc are row strides. Computed as the column-major Cᵀ = op(B)ᵀ · op(A)ᵀ.
inline void gemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
  const int M = as_blas_int(m), N = as_blas_int(n), K = as_blas_int(k);
  const int LDA = as_blas_int(lda), LDB = as_blas_int(ldb), LDC = as_blas_int(ldc);
  dgemm_(&tb, &ta, &N, &M, &K, &alpha, b, &LDB, a, &LDA, &beta, c, &LDC, 1, 1);
}

// Symmetric rank-k update of the n × n matrix C += alpha · Aᵀ A for a row-major A (k × n, row
// stride lda): only the upper triangle of the row-major C (row i, columns j >= i) is updated.
// The row-major Aᵀ A is the column-major A·Aᵀ of the n × k column-major view, and the row-major
// upper triangle is the column-major lower one.
inline void syrk_ata_upper_rowmajor(int64_t n, int64_t k, double alpha, const double* a, int64_t lda, double beta,
                                    double* c, int64_t ldc) {
  if (n == 0) return;
  const char uplo = 'L', trans = 'N';
  const int N = as_blas_int(n), K = as_blas_int(k), LDA = as_blas_int(lda), LDC = as_blas_int(ldc);
  dsyrk_(&uplo, &trans, &N, &K, &alpha, a, &LDA, &beta, c, &LDC, 1, 1);
}

}  // namespace velofield::blas
