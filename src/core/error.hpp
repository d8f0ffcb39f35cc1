#pragma once
// One error type for everything a user can act on. The message names the file, the key
// (HDF5 path, config key or option) and the problem, and says what to do where we know.
#include <mpi.h>
#include <stdexcept>
#include <string>

namespace velofield {

class Error : public std::runtime_error {
 public:
  // A message is one line whatever it quotes: control characters from a file (a key or a name
  // with a newline in it) are written as escapes (\n, \t, \xNN).
  explicit Error(const std::string& message) : std::runtime_error(one_line(message)) {}

 private:
  static std::string one_line(const std::string& message);
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
