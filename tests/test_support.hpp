#pragma once
// Helpers shared by the tests: where ../shared is, temporary paths agreed by every rank, and the
// skip-with-a-message rule for data that only ../shared has.
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <vector>

#include "core/error.hpp"

namespace velofield::test {

// The shared/ folder (VELOFIELD_SHARED_DIR in the environment, else the configure-time path).
std::string shared_dir();
// Path of a file under shared/data, or "" when it is absent.
std::string shared_data(const std::string& name);
// A fresh directory (same on every rank; rank 0 creates it). Collective.
std::string temp_dir(MPI_Comm comm = MPI_COMM_WORLD);
int rank(MPI_Comm comm = MPI_COMM_WORLD);
int ranks(MPI_Comm comm = MPI_COMM_WORLD);
// The velofield binary built alongside the tests.
std::string cli_path();

}  // namespace velofield::test

// Skips (visibly, on every rank) when a file of ../shared/data is absent.
#define VELOFIELD_REQUIRE_SHARED(path_var, name)                                                      \
  const std::string path_var = ::velofield::test::shared_data(name);                               \
  if (path_var.empty()) GTEST_SKIP() << "../shared/data/" << (name) << " is absent: skipping (CI has it)"

namespace velofield::test {

// The message of the velofield::Error that `body` throws, "<no exception>" when it throws
// nothing, "<wrong exception type: ...>" for another exception: compare it with the expected text.
template <class Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<wrong exception type: ") + e.what() + ">";
  }
  return "<no exception>";
}

// Every rank's string, in rank order, on every rank. Collective.
std::vector<std::string> all_gather(const std::string& s, MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace velofield::test
