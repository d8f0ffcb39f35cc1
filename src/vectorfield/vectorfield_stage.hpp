#pragma once
// Stage `vectorfield`: dyn.vf.VectorField(adata, basis=..., M=...) with SparseVFC. Reads obsm
// X_<basis> and velocity_<basis>; writes the fitted field (uns VecFld_<basis>), its values at the
// cells (obsm velocity_<basis>_SparseVFC), the fit's per-cell diagnostics (obs control_point_,
// inlier_prob_, obs_vf_angle_<basis>) and the analytic vector calculus per cell (obs divergence_,
// curl_, acceleration_, curvature_<basis>).
#include "pipeline/stage.hpp"

namespace velofield {

Stage vectorfield_stage();

}  // namespace velofield
