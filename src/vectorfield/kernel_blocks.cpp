#include "vectorfield/kernel_blocks.hpp"

#include <algorithm>

#include "core/lapack.hpp"
#include "gaussian_kernel_block.hpp"
#include "vectorfield/serial_blas.hpp"

namespace velofield {

namespace {
// Below this dimension the direct distance loop is as fast as the GEMM expansion and exact.
constexpr int64_t kGemmDistanceMinDim = 8;
}  // namespace

KernelBlocks::KernelBlocks(int64_t rows, int64_t dim, const double* x, const std::vector<double>& ctrl, int64_t M,
                           double beta, double cache_bytes, int64_t chunk_rows)
    : rows_(rows), dim_(dim), M_(M), beta_(beta), chunk_rows_(std::max<int64_t>(chunk_rows, 1)) {
  centre_.assign(static_cast<size_t>(dim), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t q = 0; q < dim; ++q) centre_[static_cast<size_t>(q)] += ctrl[static_cast<size_t>(m * dim + q)];
  for (auto& c : centre_) c /= static_cast<double>(std::max<int64_t>(M, 1));
  x_.resize(static_cast<size_t>(rows * dim));
  ctrl_.resize(static_cast<size_t>(M * dim));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t q = 0; q < dim; ++q) x_[static_cast<size_t>(i * dim + q)] = x[i * dim + q] - centre_[static_cast<size_t>(q)];
  for (int64_t m = 0; m < M; ++m)
    for (int64_t q = 0; q < dim; ++q)
      ctrl_[static_cast<size_t>(m * dim + q)] = ctrl[static_cast<size_t>(m * dim + q)] - centre_[static_cast<size_t>(q)];
  if (dim >= kGemmDistanceMinDim) {
    x_sq_.assign(static_cast<size_t>(rows), 0.0);
    ctrl_sq_.assign(static_cast<size_t>(M), 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t q = 0; q < dim; ++q) x_sq_[static_cast<size_t>(i)] += x_[static_cast<size_t>(i * dim + q)] * x_[static_cast<size_t>(i * dim + q)];
    for (int64_t m = 0; m < M; ++m)
      for (int64_t q = 0; q < dim; ++q)
        ctrl_sq_[static_cast<size_t>(m)] += ctrl_[static_cast<size_t>(m * dim + q)] * ctrl_[static_cast<size_t>(m * dim + q)];
  }
  cached_ = static_cast<double>(rows) * static_cast<double>(M) * 8.0 <= cache_bytes;
  if (cached_) {
    cache_.resize(static_cast<size_t>(rows * M));
    for (int64_t k = 0; k < chunk_count(); ++k) compute(k, cache_.data() + chunk_begin(k) * M);
  } else {
    scratch_.resize(static_cast<size_t>(chunk_rows_ * M));
  }
}

int64_t KernelBlocks::chunk_size(int64_t k) const { return std::min(chunk_rows_, rows_ - chunk_begin(k)); }

const double* KernelBlocks::chunk(int64_t k) {
  if (cached_) return cache_.data() + chunk_begin(k) * M_;
  compute(k, scratch_.data());
  return scratch_.data();
}

void KernelBlocks::compute(int64_t k, double* out) const {
  const int64_t begin = chunk_begin(k), n = chunk_size(k);
  const double* xk = x_.data() + begin * dim_;
  if (dim_ >= kGemmDistanceMinDim) {
    {
      // OpenBLAS rounds this GEMM differently with 2 threads for some row counts (measured: 462
      // rows, d = 30, M = 500): single-threaded, U is the same bits at any thread count.
      const SerialBlas serial;
      blas::gemm_rowmajor(false, true, n, M_, dim_, 1.0, xk, dim_, ctrl_.data(), dim_, 0.0, out, M_);
    }
    kernels::gaussian_kernel_from_inner_products(n, M_, x_sq_.data() + begin, ctrl_sq_.data(), beta_, out);
  } else {
    kernels::gaussian_kernel_block(n, M_, dim_, xk, ctrl_.data(), beta_, out);
  }
}

}  // namespace velofield
