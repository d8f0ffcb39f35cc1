#pragma once
// The vector field the topography analyses: f: R^dim → R^dim with its Jacobian, evaluated in
// batches (one call for many points, so a fitted field runs one Kokkos launch per batch, not per
// point). The fitted SparseVFC field is one implementation; the tests plant analytic systems (a
// linear saddle, a toggle switch) through the same interface.
#include <cstdint>

#include "rkhs_field.hpp"

namespace velofield {

class FieldFunction {
 public:
  virtual ~FieldFunction() = default;
  virtual int64_t dim() const = 0;
  // out: n × dim, f(x_i).
  virtual void values(int64_t n, const double* x, double* out) const = 0;
  // out: n × dim × dim, out[i][p][q] = ∂f_p/∂x_q at x_i (row p = output component).
  virtual void jacobians(int64_t n, const double* x, double* out) const = 0;
};

// A SparseVFC field (uns VecFld_<basis>: X_ctrl, C, beta) with its analytic Jacobian.
class RkhsFieldFunction : public FieldFunction {
 public:
  explicit RkhsFieldFunction(kernels::RkhsField field) : field_(field) {}
  int64_t dim() const override { return field_.dim; }
  void values(int64_t n, const double* x, double* out) const override { kernels::rkhs_field_values(field_, n, x, out); }
  void jacobians(int64_t n, const double* x, double* out) const override {
    kernels::rkhs_field_jacobians(field_, n, x, out);
  }

 private:
  kernels::RkhsField field_;
};

}  // namespace velofield
