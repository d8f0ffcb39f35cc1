#pragma once
// The simulated dataset the pipeline falls back to when its input file is absent, configured by
// the [simulate] section of the pipeline config (same keys as `velofield simulate`).
#include <mpi.h>

#include "core/config.hpp"
#include "data/dataset.hpp"

namespace velofield {
// Collective. Throws velofield::Error naming the [simulate] key on bad values or unknown keys.
Dataset simulate_from_config(MPI_Comm comm, const Config& config);
}  // namespace velofield
