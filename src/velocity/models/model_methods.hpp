#pragma once
// The LibTorch velocity methods of the `dynamics` stage (declared without torch, so the method
// list in core can register them).
#include "velocity/velocity_method.hpp"

namespace velofield {

VelocityMethod celldancer_velocity_method();
VelocityMethod velovi_velocity_method();
VelocityMethod latentvelo_velocity_method();
VelocityMethod deepvelo_velocity_method();

}  // namespace velofield
