#pragma once
// The `compare-velocity` stage (issue 12, consensus): several velocity methods of the `dynamics`
// registry side by side — each one's velocity (layers/velocity_S_<method>, run or read), their
// agreement per cell in PCA space (obs/velocity_agreement) and as a methods × methods matrix, the
// consensus velocity (layers/velocity_S), CBDir/ICCoh per method on known transitions
// (uns/velocity_comparison, a Markdown report), and a figure. See docs/compare-velocity.md.
#include "pipeline/stage.hpp"

namespace velofield {

Stage compare_velocity_stage();

}  // namespace velofield
