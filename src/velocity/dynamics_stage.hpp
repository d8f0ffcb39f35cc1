#pragma once
// Stage `dynamics` (dynamo's tl.dynamics): the velocity method named by `method` (see
// velocity_method.hpp), with every registered method's keys in the [dynamics] section.
#include "pipeline/stage.hpp"

namespace velofield {

Stage dynamics_stage();

}  // namespace velofield
