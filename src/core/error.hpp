#pragma once
// One error type for everything a user can act on. The message names the file, the key
// (HDF5 path, config key or option) and the problem, and says what to do where we know.
#include <mpi.h>
#include <stdexcept>
#include <string>

namespace velofield {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "FILE: KEY: PROBLEM" — the one format every input error uses.
std::string describe(const std::string& file, const std::string& key, const std::string& problem);
[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& problem);

// Collective agreement on a local failure, so that no rank hangs in a later collective call
// while another throws. Every rank calls it; if any rank passes ok=false, every rank throws
// the message of the lowest failing rank.
void agree(MPI_Comm comm, bool ok, const std::string& message_if_failed);

// Runs `body` on every rank, catching velofield::Error and std::exception locally, then agrees.
// Use around code that has no collective calls inside (per-rank validation, local compute).
template <class Body>
void agree_on(MPI_Comm comm, Body&& body) {
  bool ok = true;
  std::string message;
  try {
    body();
  } catch (const std::exception& e) {
    ok = false;
    message = e.what();
  }
  agree(comm, ok, message);
}

}  // namespace velofield
