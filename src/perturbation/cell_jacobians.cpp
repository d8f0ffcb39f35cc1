#include "perturbation/cell_jacobians.hpp"

#include <algorithm>
#include <cmath>

#include "core/lapack.hpp"
#include "vectorfield/kernel_blocks.hpp"

namespace velofield {

void for_each_jacobian_chunk(const FittedField& field, int64_t rows, const double* x,
                             const std::function<void(int64_t, int64_t, const double*)>& on_chunk) {
  const int64_t M = field.M, D = field.dim;
  // Nothing is cached: each chunk's kernel block is used once. Chunks of ~1M Jacobian entries
  // (8 MB) keep the GEMM outputs in cache-friendly blocks.
  const int64_t chunk_rows = std::max<int64_t>(16, 1000000 / std::max<int64_t>(1, D * D));
  KernelBlocks blocks(rows, D, x, field.ctrl, M, field.beta, 0.0, chunk_rows);
  const std::vector<double>& xc = blocks.centred_rows();
  const std::vector<double>& cc = blocks.centred_ctrl();
  std::vector<double> B(static_cast<size_t>(M * D * D));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t p = 0; p < D; ++p)
      for (int64_t q = 0; q < D; ++q)
        B[static_cast<size_t>(m * D * D + p * D + q)] = field.coef[static_cast<size_t>(m * D + p)] * cc[static_cast<size_t>(m * D + q)];
  std::vector<double> f, J;
  for (int64_t k = 0; k < blocks.chunk_count(); ++k) {
    const int64_t b = blocks.chunk_begin(k), n = blocks.chunk_size(k);
    const double* U = blocks.chunk(k);
    f.resize(static_cast<size_t>(n * D));
    J.resize(static_cast<size_t>(n * D * D));
    blas::gemm_rowmajor(false, false, n, D, M, 1.0, U, M, field.coef.data(), D, 0.0, f.data(), D);
    blas::gemm_rowmajor(false, false, n, D * D, M, 1.0, U, M, B.data(), D * D, 0.0, J.data(), D * D);
    const double s = -2 * field.beta;
    for (int64_t i = 0; i < n; ++i) {
      const double* xi = xc.data() + (b + i) * D;
      double* Ji = J.data() + i * D * D;
      for (int64_t p = 0; p < D; ++p) {
        const double fp = f[static_cast<size_t>(i * D + p)];
        for (int64_t q = 0; q < D; ++q) Ji[p * D + q] = s * (fp * xi[q] - Ji[p * D + q]);
      }
    }
    on_chunk(b, n, J.data());
  }
}

double determinant(int64_t n, const double* a_in) {
  std::vector<double> a(a_in, a_in + n * n);
  double det = 1;
  for (int64_t c = 0; c < n; ++c) {
    int64_t pivot = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::abs(a[static_cast<size_t>(r * n + c)]) > std::abs(a[static_cast<size_t>(pivot * n + c)])) pivot = r;
    if (a[static_cast<size_t>(pivot * n + c)] == 0) return 0;
    if (pivot != c) {
      for (int64_t q = 0; q < n; ++q) std::swap(a[static_cast<size_t>(c * n + q)], a[static_cast<size_t>(pivot * n + q)]);
      det = -det;
    }
    const double d = a[static_cast<size_t>(c * n + c)];
    det *= d;
    for (int64_t r = c + 1; r < n; ++r) {
      const double factor = a[static_cast<size_t>(r * n + c)] / d;
      if (factor == 0) continue;
      for (int64_t q = c + 1; q < n; ++q) a[static_cast<size_t>(r * n + q)] -= factor * a[static_cast<size_t>(c * n + q)];
    }
  }
  return det;
}

}  // namespace velofield
