#include "core/error_exit.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

namespace velofield {

namespace {
MPI_Comm g_error_comm = MPI_COMM_NULL;
MPI_Comm g_world = MPI_COMM_WORLD;
}  // namespace

void prepare_error_exit(MPI_Comm world) {
  g_world = world;
  MPI_Comm_dup(world, &g_error_comm);
}

int exit_on_error(const std::string& message) {
  int rank = 0;
  MPI_Comm_rank(g_world, &rank);
  if (g_error_comm != MPI_COMM_NULL) {
    MPI_Request request;
    MPI_Ibarrier(g_error_comm, &request);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kErrorGraceSeconds);
    int done = 0;
    while (true) {
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (done) {
      // Every rank failed: the error was agreed (or every rank met it alike). One message.
      if (rank == 0) std::fprintf(stderr, "velofield: error: %s\n", message.c_str());
      return 1;
    }
  }
  // Some rank did not fail: it is waiting in a collective call that will never complete.
  std::fprintf(stderr, "velofield: error: %s\n", message.c_str());
  std::fflush(stderr);
  MPI_Abort(g_world, 1);
  return 1;
}

}  // namespace velofield
