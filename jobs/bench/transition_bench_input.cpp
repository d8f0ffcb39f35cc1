// The inputs of the cell-velocities benchmark (jobs/bench_transition.sh), made without the
// upstream stages from the same fixtures as the tests (tests/mpi/transition_fixture.hpp):
//   transition_bench_input pancreas OUT.h5ad            dynamo's own inputs (needs ../shared/reference)
//   transition_bench_input simulated CELLS GENES OUT.h5ad
// The simulated input has Poisson counts (density 0.1) normalised as M_s, the true velocity as
// velocity_S, every gene a transition gene, the kNN graph exact in the 2-D truth layout (a kd-tree:
// minutes at 10^6 cells, not hours), and only the slots the stage reads (M_s and velocity_S dense
// float32: 4 GB each at 10^6 × 1,000).
#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "core/runtime.hpp"
#include "io/h5ad.hpp"
#include "mpi/transition_fixture.hpp"

int main(int argc, char** argv) {
  velofield::Runtime runtime(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "pancreas" && argc == 3) {
      if (velofield::test::dynamo_reference().empty()) throw velofield::Error("../shared/reference/dynamo is absent");
      velofield::write_h5ad(velofield::test::pancreas_transition_inputs(runtime.comm()), argv[2]);
      return 0;
    }
    if (mode == "simulated" && argc == 5) {
      velofield::SimulationOptions o;
      o.n_cells = static_cast<int64_t>(std::stod(argv[2]));
      o.n_genes = static_cast<int64_t>(std::stod(argv[3]));
      o.n_lineages = 3;
      o.seed = 1;
      velofield::write_h5ad(velofield::test::simulated_transition_inputs(runtime.comm(), o, true, true), argv[4]);
      return 0;
    }
  } catch (const std::exception& e) {
    if (runtime.rank() == 0) std::fprintf(stderr, "transition_bench_input: %s\n", e.what());
    return 1;
  }
  if (runtime.rank() == 0)
    std::fprintf(stderr, "usage: transition_bench_input pancreas OUT.h5ad | simulated CELLS GENES OUT.h5ad\n");
  return 2;
}
