#pragma once
// Stage `import-velocity` (dynamo's "importing external velocity results" workflow): takes a
// velocity matrix computed by any tool (scVelo, VeloVI, cellDancer, UniTVelo, ...) from another
// .h5ad, matches cells and genes by name, and leaves the dynamo state the later stages need:
// layers/velocity_S, var.use_for_dynamics, var.use_for_transition and uns['dynamics'].
#include "pipeline/stage.hpp"

namespace velofield {

Stage import_velocity_stage();

}  // namespace velofield
