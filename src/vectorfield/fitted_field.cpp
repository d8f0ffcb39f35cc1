#include "vectorfield/fitted_field.hpp"

#include <cmath>

#include "core/error.hpp"

namespace velofield {

FittedField fitted_field(const Dataset& d, const std::string& basis) {
  const std::string key = "VecFld_" + basis;
  if (!d.uns.contains(key))
    fail(d.source, "uns/" + key, "not present: run the vectorfield stage with basis = " + basis + " first");
  const UnsNode& vf = d.uns.at(key);
  auto array = [&](const std::string& name) -> const DenseArray& {
    if (!vf.contains(name) || vf.at(name).kind != UnsNode::Kind::numeric)
      fail(d.source, "uns/" + key + "/" + name, "not present or not numeric");
    return vf.at(name).array;
  };
  const DenseArray& ctrl = array("X_ctrl");
  const DenseArray& coef = array("C");
  const DenseArray& beta = array("beta");
  if (ctrl.shape.size() != 2 || coef.shape != ctrl.shape)
    fail(d.source, "uns/" + key + "/C", "expected the shape of X_ctrl (control points × dimensions)");
  FittedField f;
  f.M = ctrl.shape[0];
  f.dim = ctrl.shape[1];
  f.ctrl = ctrl.values.to_double();
  f.coef = coef.values.to_double();
  f.beta = beta.values.size() == 1 ? beta.values.as_double(0) : std::nan("");
  if (!(f.beta > 0)) fail(d.source, "uns/" + key + "/beta", "expected one positive number");
  return f;
}

}  // namespace velofield
