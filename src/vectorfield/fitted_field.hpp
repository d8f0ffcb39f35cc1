#pragma once
// A fitted SparseVFC field read back from uns VecFld_<basis> (written by the vectorfield stage, or
// by dynamo: X_ctrl, C and beta are all it takes), for the stages that evaluate it afterwards
// (topography, perturbation): values, Jacobians and Jacobian-vector products at any points through
// kokkos_kernels/rkhs_field.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "rkhs_field.hpp"

namespace velofield {

struct FittedField {
  std::vector<double> ctrl;   // M × dim
  std::vector<double> coef;   // M × dim
  double beta = 0;
  int64_t M = 0, dim = 0;
  // Valid while this object lives.
  kernels::RkhsField view() const { return {M, dim, ctrl.data(), coef.data(), beta}; }
};

// Throws velofield::Error naming the file and the uns path when the field is absent or malformed.
FittedField fitted_field(const Dataset& d, const std::string& basis);

}  // namespace velofield
