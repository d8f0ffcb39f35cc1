#pragma once
// SparseVFC's vector field f(x) = Σ_m exp(-beta ||x - c_m||²) C_m (a Gaussian-kernel RKHS function
// with centres c_m, the control points, and coefficients C_m ∈ R^dim), evaluated with its analytic
// derivatives at arbitrary points: one thread per point, O(centres · dim) work for a value or a
// Jacobian-vector product, O(centres · dim²) for a full Jacobian. Kokkos-free entry points; the
// functors are in rkhs_field_functor.hpp. Arrays are row-major.
#include <cstdint>

namespace velofield::kernels {

struct RkhsField {
  int64_t centres = 0;
  int64_t dim = 0;
  const double* ctrl = nullptr;   // centres × dim
  const double* coef = nullptr;   // centres × dim
  double beta = 0;
};

// values (points × dim) = f(x_i).
void rkhs_field_values(const RkhsField& field, int64_t points, const double* x, double* values);

// jacobians (points × dim × dim): J_pq(x_i) = ∂f_p/∂x_q = -2 beta Σ_m C_mp k_m(x_i) (x_iq - c_mq),
// row p is the output component (dynamo's J[:, :, i]).
void rkhs_field_jacobians(const RkhsField& field, int64_t points, const double* x, double* jacobians);

// products (points × dim) = J(x_i) · v_i = -2 beta Σ_m k_m(x_i) ((x_i - c_m)·v_i) C_m, without forming
// J: the acceleration J·f and the perturbation response J·δx.
void rkhs_jacobian_vector_products(const RkhsField& field, int64_t points, const double* x, const double* v,
                                   double* products);

}  // namespace velofield::kernels
