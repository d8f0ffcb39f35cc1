#include "fuzz_runtime.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/runtime.hpp"

namespace velofield::fuzz {

void start_runtime() {
  static std::unique_ptr<Runtime> runtime;
  if (runtime) return;
  // PETSc and Kokkos parse argv; libFuzzer's -flags are not for them, so they get a bare argv.
  static char name[] = "velofield_fuzz";
  static char* args[] = {name, nullptr};
  static int argc = 1;
  static char** argv = args;
  setenv("OMP_NUM_THREADS", "1", 0);
  // Open MPI installs handlers for SIGABRT/SIGSEGV that print a backtrace and exit, which would
  // take the crash away from libFuzzer (no reproducer saved). Leave the signals to libFuzzer.
  setenv("OMPI_MCA_opal_signal", "", 1);
  runtime = std::make_unique<Runtime>(argc, argv);
  RuntimeOptions quiet;
  quiet.quiet = true;
  runtime->configure(quiet);
  // Deliberately leaked: destroying it at exit would finalise MPI from a static destructor,
  // after libFuzzer has already reported and while ASan's leak check runs.
  (void)runtime.release();
}

const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path base = tmp && *tmp ? tmp : (std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp");
    std::filesystem::path d = base / ("velofield-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

bool is_clear_error(const std::string& message, const std::string& file) {
  if (message.rfind(file + ": ", 0) != 0) return false;
  if (message.find('\n') != std::string::npos) return false;
  // A std::exception that escaped a check (vector::at, bad_alloc, stoll) is turned into
  // "cannot read: <what()>" by read_h5ad: it reads as a library message, not as a problem with
  // a key, so it counts as unclear.
  for (const char* leak : {"vector::", "basic_string", "bad_alloc", "stoll", "stoi", "_M_range_check", "map::at"})
    if (message.find(leak) != std::string::npos) return false;
  return true;
}

}  // namespace velofield::fuzz
