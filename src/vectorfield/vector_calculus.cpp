#include "vectorfield/vector_calculus.hpp"

#include <cmath>
#include <limits>

#include "core/lapack.hpp"
#include "rkhs_block_calculus.hpp"
#include "rkhs_field.hpp"
#include "vectorfield/serial_blas.hpp"

namespace velofield {

CellCalculus vector_calculus_at_cells(KernelBlocks& blocks, const std::vector<double>& coef,
                                      const std::vector<double>& values) {
  const int64_t rows = blocks.rows(), M = blocks.centres(), D = blocks.dim();
  const double beta = blocks.beta();
  const std::vector<double>& x = blocks.centred_rows();
  const std::vector<double>& ctrl = blocks.centred_ctrl();
  CellCalculus out;
  out.divergence.assign(static_cast<size_t>(rows), 0.0);
  out.acceleration.assign(static_cast<size_t>(rows * D), 0.0);
  out.curvature.assign(static_cast<size_t>(rows * D), 0.0);
  if (D == 2) out.curl.assign(static_cast<size_t>(rows), 0.0);
  if (D == 3) out.curl.assign(static_cast<size_t>(rows * 3), 0.0);

  std::vector<double> d(static_cast<size_t>(M), 0.0);   // C_m · c_m
  for (int64_t m = 0; m < M; ++m)
    for (int64_t q = 0; q < D; ++q) d[static_cast<size_t>(m)] += coef[static_cast<size_t>(m * D + q)] * ctrl[static_cast<size_t>(m * D + q)];
  std::vector<double> t1, t2, s, jac;
  // Its GEMMs round differently with more OpenBLAS threads (the thin one always, the others for some
  // row counts): single-threaded, the results are the same bits at any rank and thread count.
  const SerialBlas serial;
  for (int64_t k = 0; k < blocks.chunk_count(); ++k) {
    const int64_t b = blocks.chunk_begin(k), n = blocks.chunk_size(k);
    const double* U = blocks.chunk(k);
    const double* xk = x.data() + b * D;
    const double* fk = values.data() + b * D;
    t1.resize(static_cast<size_t>(n * M));
    t2.resize(static_cast<size_t>(n * M));
    s.assign(static_cast<size_t>(n), 0.0);
    blas::gemm_rowmajor(false, true, n, M, D, 1.0, xk, D, coef.data(), D, 0.0, t1.data(), M);
    kernels::rkhs_divergence_from_blocks(n, M, U, t1.data(), d.data(), beta, out.divergence.data() + b);
    blas::gemm_rowmajor(false, true, n, M, D, 1.0, fk, D, ctrl.data(), D, 0.0, t2.data(), M);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t q = 0; q < D; ++q) s[static_cast<size_t>(i)] += xk[i * D + q] * fk[i * D + q];
    kernels::rkhs_acceleration_weights(n, M, U, s.data(), t2.data());
    blas::gemm_rowmajor(false, false, n, D, M, -2 * beta, t2.data(), M, coef.data(), D, 0.0,
                        out.acceleration.data() + b * D, D);
    if (D == 2 || D == 3) {
      jac.resize(static_cast<size_t>(n * D * D));
      kernels::rkhs_field_jacobians({M, D, ctrl.data(), coef.data(), beta}, n, xk, jac.data());
      for (int64_t i = 0; i < n; ++i) {
        const double* J = jac.data() + i * D * D;
        auto at = [&](int p, int q) { return J[p * D + q]; };
        if (D == 2) {
          out.curl[static_cast<size_t>(b + i)] = at(1, 0) - at(0, 1);
        } else {
          double* c = out.curl.data() + (b + i) * 3;
          c[0] = at(2, 1) - at(1, 2);
          c[1] = at(0, 2) - at(2, 0);
          c[2] = at(1, 0) - at(0, 1);
        }
      }
    }
  }
  for (int64_t i = 0; i < rows; ++i) {
    const double* v = values.data() + i * D;
    const double* a = out.acceleration.data() + i * D;
    double vv = 0, va = 0;
    for (int64_t q = 0; q < D; ++q) {
      vv += v[q] * v[q];
      va += v[q] * a[q];
    }
    for (int64_t q = 0; q < D; ++q)
      out.curvature[static_cast<size_t>(i * D + q)] =
          vv > 0 ? (a[q] * vv - v[q] * va) / (vv * vv) : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

std::vector<double> row_norms(const std::vector<double>& a, int64_t dim) {
  const int64_t rows = dim > 0 ? static_cast<int64_t>(a.size()) / dim : 0;
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    double s = 0;
    for (int64_t q = 0; q < dim; ++q) s += a[static_cast<size_t>(i * dim + q)] * a[static_cast<size_t>(i * dim + q)];
    out[static_cast<size_t>(i)] = std::sqrt(s);
  }
  return out;
}

}  // namespace velofield
