#include "rkhs_block_calculus.hpp"

#include "host_device_views.hpp"
#include "rkhs_block_calculus_functor.hpp"

namespace velofield::kernels {

void rkhs_divergence_from_blocks(int64_t rows, int64_t centres, const double* u, const double* t1, const double* d,
                                 double beta, double* divergence) {
  if (rows == 0) return;
  DeviceOutput<double> out(divergence, rows);
  RkhsDivergenceFunctor<DeviceMem> f{device_input(u, rows * centres), device_input(t1, rows * centres),
                                     device_input(d, centres), out.device, centres, beta};
  Kokkos::parallel_for("velofield::rkhs_divergence_from_blocks", Kokkos::RangePolicy<DeviceExec>(0, rows), f);
  out.copy_to_host();
}

void rkhs_acceleration_weights(int64_t rows, int64_t centres, const double* u, const double* s, double* t2) {
  if (rows == 0 || centres == 0) return;
  DeviceInOut<double> inout(t2, rows * centres);
  RkhsAccelerationWeightsFunctor<DeviceMem> f{device_input(u, rows * centres), device_input(s, rows), inout.device,
                                              centres};
  Kokkos::parallel_for("velofield::rkhs_acceleration_weights", Kokkos::RangePolicy<DeviceExec>(0, rows * centres), f);
  inout.copy_to_host();
}

}  // namespace velofield::kernels
