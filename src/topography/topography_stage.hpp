#pragma once
#include "pipeline/stage.hpp"

namespace velofield {

// `velofield topography`: fixed points (any dimension), nullclines and separatrices (2-D) of the
// field fitted by the vectorfield stage, merged into uns VecFld_<basis> (dyn.vf.topography).
Stage topography_stage();

}  // namespace velofield
