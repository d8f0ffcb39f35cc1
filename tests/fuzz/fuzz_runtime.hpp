#pragma once
// What every fuzz target shares: one velofield runtime (MPI, PETSc, Kokkos, HDF5 quiet) started
// once per fuzzing process on a single rank, and a scratch directory for the files a target
// writes from its input. libFuzzer runs inputs in one process, so nothing here is per input.
#include <string>

namespace velofield::fuzz {

// Starts the runtime on first use (never finalised: libFuzzer exits the process itself).
void start_runtime();
// A directory private to this process (under $TMPDIR or /dev/shm), created on first use.
const std::string& scratch_dir();
// True when `message` is a velofield input error as the reader promises it: starts with the file
// name, then names a key or the problem, on one line. A message that fails this is a finding.
bool is_clear_error(const std::string& message, const std::string& file);

}  // namespace velofield::fuzz
