#pragma once
// The `cell-velocities` stage (dyn.tl.cell_velocities): the cell-to-cell transition matrix from
// the velocity and the kNN graph, and its projection onto embeddings (velocity_<basis>, plus the
// grid of the streamline plots).
#include "pipeline/stage.hpp"

namespace velofield {
Stage cell_velocities_stage();
}  // namespace velofield
