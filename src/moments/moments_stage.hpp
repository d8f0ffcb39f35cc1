#pragma once
// The `moments` stage (dyn.tl.moments): kNN graph in an embedding, UMAP connectivities, the
// moment matrix and the first and second moments of the normalised layers.
#include "pipeline/stage.hpp"

namespace velofield {
Stage moments_stage();
}  // namespace velofield
