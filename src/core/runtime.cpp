#include "core/runtime.hpp"

#include <hdf5.h>
#include <slepcsys.h>

#include <cstdlib>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/timers.hpp"
#include "kokkos_runtime.hpp"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace velofield {

namespace {
int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

// Ranks sharing a node share its cores: threads per rank = cores / ranks on this node, unless
// the user (or Slurm's --cpus-per-task via OMP_NUM_THREADS) said otherwise.
int choose_threads_per_rank() {
  if (int n = env_int("OMP_NUM_THREADS"); n > 0) return n;
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local_ranks = 1;
  MPI_Comm_size(node, &local_ranks);
  MPI_Comm_free(&node);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / local_ranks);
}
}  // namespace

Runtime::Runtime(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  // PETSc reads -options from argv; our own --options are ignored by it. No signal handler:
  // errors are reported by velofield, and a crash should give the usual core/backtrace.
  PetscOptionsSetValue(nullptr, "-no_signal_handler", nullptr);
  SlepcInitialize(&argc, &argv, nullptr, nullptr);
  threads_per_rank_ = choose_threads_per_rank();
  if (openblas_set_num_threads) openblas_set_num_threads(threads_per_rank_);
  kernels::initialize_kokkos(argc, argv, threads_per_rank_);
  // HDF5 would print its whole error stack; velofield turns failures into one readable line.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Logger::get().configure(MPI_COMM_WORLD, LogLevel::info);
  Timings::get().set_baseline_rss(current_rss_bytes());
}

Runtime::~Runtime() {
  kernels::finalize_kokkos();
  SlepcFinalize();
  if (owns_mpi_) MPI_Finalize();
}

void Runtime::configure(const RuntimeOptions& options) {
  options_ = options;
  LogLevel level = options.quiet ? LogLevel::quiet : options.verbose ? LogLevel::verbose : LogLevel::info;
  Logger::get().configure(MPI_COMM_WORLD, level);
  log().detail(cat("threads per rank: ", threads_per_rank_));
}

void Runtime::write_timings() const {
  if (!options_.timings_path.empty()) Timings::get().write_json(options_.timings_path, comm());
}

std::string library_versions() {
  char petsc[128] = {0};
  PetscGetVersion(petsc, sizeof petsc);
  char slepc[128] = {0};
  SlepcGetVersion(slepc, sizeof slepc);
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  std::string mpi_line(mpi);
  if (auto nl = mpi_line.find(','); nl != std::string::npos) mpi_line.resize(nl);
  unsigned h5maj = 0, h5min = 0, h5rel = 0;
  H5get_libversion(&h5maj, &h5min, &h5rel);
  return cat("MPI:    ", mpi_line, "\n", "PETSc:  ", petsc, "\n", "SLEPc:  ", slepc, "\n",
             "HDF5:   ", h5maj, ".", h5min, ".", h5rel, " (parallel)\n", "Kokkos: ",
             kernels::kokkos_version(), " (", kernels::kokkos_backend(), ")\n");
}

}  // namespace velofield
