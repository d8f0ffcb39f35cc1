#pragma once
// The process runtime: initialises MPI, PETSc+SLEPc and Kokkos in that order and finalises them
// in reverse; sets thread counts so that ranks on one node do not oversubscribe its cores; owns
// the logger configuration and the --timings output. Create exactly one, first thing in main().
#include <mpi.h>
#include <string>

namespace velofield {

struct RuntimeOptions {
  bool verbose = false;
  bool quiet = false;
  std::string timings_path;   // --timings FILE.json; empty = none
};

class Runtime {
 public:
  Runtime(int& argc, char**& argv);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void configure(const RuntimeOptions& options);
  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  int threads_per_rank() const { return threads_per_rank_; }
  // Writes --timings if asked for. Collective.
  void write_timings() const;

 private:
  int rank_ = 0, size_ = 1, threads_per_rank_ = 1;
  bool owns_mpi_ = false;
  RuntimeOptions options_;
};

// Versions of the libraries velofield runs on, for `velofield --version`.
std::string library_versions();

}  // namespace velofield
