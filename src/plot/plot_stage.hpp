#pragma once
// The pipeline entry `plot:NAME` (section [plot:NAME]): draws one figure of the running Dataset
// with one of the plot commands (kind = streamline-plot, topography-plot or scatter-plot) and that
// command's keys, so `velofield run` makes the tutorial's figures together with its .h5ad.
#include "pipeline/stage.hpp"

namespace velofield::plot {

Stage plot_stage();

}  // namespace velofield::plot
