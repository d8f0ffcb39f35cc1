#pragma once
// The `umap` stage (dyn.tl.reduceDimension): a UMAP layout of the neighbour graph into obsm/X_umap.
#include "pipeline/stage.hpp"

namespace velofield {
Stage umap_stage();
}  // namespace velofield
