#pragma once
// One velocity method at a time, isolated: a method runs on a working copy of the dataset (its
// slots — layers, var flags, uns records — never reach the next method or the output, except the
// velocity it returns), and its velocity is projected to the embeddings by the cell-velocities
// stage on another working copy. The kNN graphs are lent to the copy (moved in and back), not copied.
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "pipeline/stage.hpp"
#include "velocity/velocity_method.hpp"

namespace velofield {

struct MethodVelocity {
  Matrix velocity;                        // the method's layers/velocity_S
  std::vector<uint8_t> transition_genes;  // its var/use_for_transition (dynamo's rule where it wrote none)
};

// Collective. Runs `method` with its keys from `dynamics` (a [dynamics] view) on a copy of `d`
// (without the other methods' velocity_S_* layers) and returns its velocity and gene flags.
MethodVelocity run_velocity_method(Dataset& d, const VelocityMethod& method, const StageConfig& dynamics);

struct ProjectedVelocity {
  std::vector<DenseArray> velocities;   // obsm velocity_<basis>, one per basis
  std::vector<UnsNode> grids;           // uns grid_velocity_<basis> (empty dict where none was written)
};

// Collective. The cell-velocities stage (keys from `cell_velocities`, a [cell-velocities] view, with
// bases and enforce set here) on a copy of `d` holding `velocity` as layers/velocity_S and
// var/use_for_transition = `genes`: the transition matrix is recomputed for this velocity.
ProjectedVelocity project_velocity(Dataset& d, const Matrix& velocity, const std::vector<uint8_t>& genes,
                                   const std::vector<std::string>& bases, const Config& config);

}  // namespace velofield
