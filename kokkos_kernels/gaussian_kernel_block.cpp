#include "gaussian_kernel_block.hpp"

#include "gaussian_kernel_block_functor.hpp"
#include "host_device_views.hpp"

namespace velofield::kernels {

void gaussian_kernel_block(int64_t rows, int64_t centres, int64_t dim, const double* x, const double* c, double beta,
                           double* u) {
  if (rows == 0 || centres == 0) return;
  DeviceOutput<double> out(u, rows * centres);
  GaussianKernelBlockFunctor<DeviceMem> f{device_input(x, rows * dim), device_input(c, centres * dim), out.device,
                                          centres, dim, beta};
  gaussian_kernel_block_launch<DeviceExec>(f, rows);
  out.copy_to_host();
}

void gaussian_kernel_from_inner_products(int64_t rows, int64_t centres, const double* x_sq, const double* c_sq,
                                         double beta, double* g) {
  if (rows == 0 || centres == 0) return;
  DeviceInOut<double> inout(g, rows * centres);
  GaussianFromInnerProductsFunctor<DeviceMem> f{device_input(x_sq, rows), device_input(c_sq, centres), inout.device,
                                                centres, beta};
  Kokkos::parallel_for("velofield::gaussian_kernel_from_inner_products",
                       Kokkos::RangePolicy<DeviceExec>(0, rows * centres), f);
  inout.copy_to_host();
}

void scale_rows(int64_t rows, int64_t cols, const double* w, const double* a, int64_t lda, double* out, int64_t ldo) {
  if (rows == 0 || cols == 0) return;
  // With a == out the input view and the output view share memory on a host backend; each entry
  // is read once and written once by the same thread, so that is safe. Columns of out beyond
  // `cols` are copied through unchanged (the output view covers whole rows).
  auto d_a = device_input(a, (rows - 1) * lda + cols);
  DeviceInOut<double> o(out, (rows - 1) * ldo + cols);
  ScaleRowsFunctor<DeviceMem> f{device_input(w, rows), d_a, o.device, cols, lda, ldo};
  Kokkos::parallel_for("velofield::scale_rows", Kokkos::RangePolicy<DeviceExec>(0, rows * cols), f);
  o.copy_to_host();
}

}  // namespace velofield::kernels
