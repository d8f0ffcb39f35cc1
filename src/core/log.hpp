#pragma once
// Rank-aware logger: rank 0 prints; with verbose on, every rank prints with a [rank r] prefix.
#include <mpi.h>
#include <sstream>
#include <string>

namespace velofield {

enum class LogLevel { quiet = 0, info = 1, verbose = 2 };

class Logger {
 public:
  static Logger& get();
  void configure(MPI_Comm comm, LogLevel level);
  LogLevel level() const { return level_; }

  void info(const std::string& message) const;     // rank 0 only (all ranks when verbose)
  void detail(const std::string& message) const;   // only when verbose, every rank
  void warn(const std::string& message) const;     // rank 0, to stderr
  // Progress of a long loop: printed at most every ~10% (and at the end), rank 0.
  void progress(const std::string& what, long long done, long long total) const;

 private:
  MPI_Comm comm_ = MPI_COMM_WORLD;
  int rank_ = 0;
  LogLevel level_ = LogLevel::info;
};

inline Logger& log() { return Logger::get(); }

template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

}  // namespace velofield
