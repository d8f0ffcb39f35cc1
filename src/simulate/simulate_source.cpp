#include "simulate/simulate_source.hpp"

#include "simulate/simulation_keys.hpp"
#include "simulate/simulator.hpp"

namespace velofield {

Dataset simulate_from_config(MPI_Comm comm, const Config& config) {
  // Same keys as `velofield simulate`; every rank parses the same config, so a bad key throws the
  // same error everywhere and no rank is left waiting.
  const SimulationOptions options = simulation_options_from(config.section("simulate"), config.origin() + " [simulate]");
  return simulate(comm, options);
}

}  // namespace velofield
