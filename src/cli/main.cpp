// velofield <subcommand> [options]
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/error_exit.hpp"
#include "core/runtime.hpp"
#include "velocity/models/torch_runtime.hpp"

using namespace velofield;

namespace {
void print_usage(const std::vector<cli::Command>& commands) {
  std::printf("velofield %s — RNA velocity, vector fields and perturbations at atlas scale\n\n", VELOFIELD_VERSION);
  std::printf("usage: [mpirun -n N] velofield <command> [options]   (velofield <command> --help)\n\ncommands:\n");
  for (const auto& c : commands) std::printf("  %-18s %s\n", c.name.c_str(), c.summary.c_str());
  std::printf("\nPETSc options (-mat_type ...) and Kokkos options (--kokkos-...) pass through.\n");
}

// PETSc consumed its -options already; our parser sees only --options and positionals.
std::vector<std::string> our_args(int argc, char** argv, int first) {
  std::vector<std::string> out;
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--kokkos-", 0) == 0) continue;
    if (a.size() > 1 && a[0] == '-' && a[1] != '-' && !(a.size() == 2)) {
      // -petsc_option [value]: skip the value too when it is not an option itself.
      if (i + 1 < argc && argv[i + 1][0] != '-') ++i;
      continue;
    }
    out.push_back(a);
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  Runtime runtime(argc, argv);
  prepare_error_exit(runtime.comm());
  models::set_torch_threads(runtime.threads_per_rank());
  const auto commands = cli::all_commands();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    if (runtime.rank() == 0) print_usage(commands);
    return argc < 2 ? 1 : 0;
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version")) {
    if (runtime.rank() == 0) std::printf("velofield %s\n%s", VELOFIELD_VERSION, library_versions().c_str());
    if (runtime.rank() == 0) std::printf("Torch:  %s\n", models::torch_version().c_str());
    return 0;
  }
  const cli::Command* command = nullptr;
  for (const auto& c : commands)
    if (c.name == argv[1]) command = &c;
  if (!command) {
    if (runtime.rank() == 0) {
      std::fprintf(stderr, "velofield: error: unknown command '%s'\n\n", argv[1]);
      print_usage(commands);
    }
    return 2;
  }
  int rc = 0;
  try {
    rc = command->run(runtime, our_args(argc, argv, 2));
    runtime.write_timings();
  } catch (const Error& e) {
    // Printed once and exit 1 when every rank failed; a rank that failed alone aborts the job.
    rc = exit_on_error(e.what());
  } catch (const std::exception& e) {
    // Anything else may have hit one rank only: the others could be waiting in a collective.
    std::fprintf(stderr, "velofield: internal error on rank %d: %s\n", runtime.rank(), e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  return rc;
}
