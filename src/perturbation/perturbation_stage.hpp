#pragma once
#include "pipeline/stage.hpp"

namespace velofield {

// `velofield perturbation`: in-silico perturbation of genes through the PCA vector field's
// Jacobian, projected onto an embedding (dyn.pd.perturbation).
Stage perturbation_stage();

}  // namespace velofield
