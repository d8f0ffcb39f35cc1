#include "rkhs_field.hpp"

#include "host_device_views.hpp"
#include "rkhs_field_functor.hpp"

namespace velofield::kernels {

namespace {
RkhsFieldView<DeviceMem> device_field(const RkhsField& f) {
  return {device_input(f.ctrl, f.centres * f.dim), device_input(f.coef, f.centres * f.dim), f.centres, f.dim, f.beta};
}
}  // namespace

void rkhs_field_values(const RkhsField& field, int64_t points, const double* x, double* values) {
  if (points == 0 || field.dim == 0) return;
  DeviceOutput<double> out(values, points * field.dim);
  rkhs_field_launch<DeviceExec>(device_field(field), points, device_input(x, points * field.dim), {}, out.device, false);
  out.copy_to_host();
}

void rkhs_field_jacobians(const RkhsField& field, int64_t points, const double* x, double* jacobians) {
  if (points == 0 || field.dim == 0) return;
  DeviceOutput<double> out(jacobians, points * field.dim * field.dim);
  RkhsJacobiansFunctor<DeviceMem> f{device_field(field), device_input(x, points * field.dim), out.device};
  Kokkos::parallel_for("velofield::rkhs_field_jacobians", Kokkos::RangePolicy<DeviceExec>(0, points), f);
  out.copy_to_host();
}

void rkhs_jacobian_vector_products(const RkhsField& field, int64_t points, const double* x, const double* v,
                                   double* products) {
  if (points == 0 || field.dim == 0) return;
  DeviceOutput<double> out(products, points * field.dim);
  rkhs_field_launch<DeviceExec>(device_field(field), points, device_input(x, points * field.dim),
                                device_input(v, points * field.dim), out.device, true);
  out.copy_to_host();
}

}  // namespace velofield::kernels
