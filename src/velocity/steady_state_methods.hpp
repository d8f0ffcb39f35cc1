#pragma once
// dynamo's kinetic velocity methods for conventional data as `dynamics` methods: `stochastic`
// (dynamo's default, GMM) and `deterministic` (OLS), see steady_state_fit.hpp.
#include "velocity/velocity_method.hpp"

namespace velofield {

VelocityMethod stochastic_velocity_method();
VelocityMethod deterministic_velocity_method();

}  // namespace velofield
