#include "pipeline/stage.hpp"
#include "moments/moments_stage.hpp"
#include "neighbors/umap_stage.hpp"
#include "preprocess/preprocess.hpp"
#include "velocity/dynamics_stage.hpp"
#include "velocity/import_velocity_stage.hpp"
#include "transition/cell_velocities_stage.hpp"
#include "vectorfield/vectorfield_stage.hpp"
#include "topography/topography_stage.hpp"
#include "perturbation/perturbation_stage.hpp"
#include "plot/plot_stage.hpp"
#include "compare/compare_velocity_stage.hpp"

namespace velofield {

// The stages velofield knows, in pipeline order. Each line comes with the stage's own file.
void register_builtin_stages() {
  register_stage(preprocess_stage());
  register_stage(moments_stage());
  register_stage(dynamics_stage());
  register_stage(import_velocity_stage());
  register_stage(umap_stage());
  register_stage(cell_velocities_stage());
  register_stage(vectorfield_stage());
  register_stage(topography_stage());
  register_stage(perturbation_stage());
  register_stage(plot::plot_stage());
  register_stage(compare_velocity_stage());
}

}  // namespace velofield
