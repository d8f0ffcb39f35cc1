#include "core/log.hpp"

#include <cstdio>

namespace velofield {

Logger& Logger::get() {
  static Logger logger;
  return logger;
}

void Logger::configure(MPI_Comm comm, LogLevel level) {
  comm_ = comm;
  level_ = level;
  MPI_Comm_rank(comm, &rank_);
}

void Logger::info(const std::string& message) const {
  if (level_ == LogLevel::quiet) return;
  if (level_ == LogLevel::verbose) {
    std::fprintf(stdout, "[rank %d] %s\n", rank_, message.c_str());
  } else if (rank_ == 0) {
    std::fprintf(stdout, "%s\n", message.c_str());
  }
  std::fflush(stdout);
}

void Logger::detail(const std::string& message) const {
  if (level_ != LogLevel::verbose) return;
  std::fprintf(stdout, "[rank %d] %s\n", rank_, message.c_str());
  std::fflush(stdout);
}

void Logger::warn(const std::string& message) const {
  if (level_ == LogLevel::quiet) return;
  if (rank_ != 0 && level_ != LogLevel::verbose) return;
  std::fprintf(stderr, "warning: %s\n", message.c_str());
  std::fflush(stderr);
}

void Logger::progress(const std::string& what, long long done, long long total) const {
  if (level_ == LogLevel::quiet || rank_ != 0 || total <= 0) return;
  const long long step = total >= 10 ? total / 10 : 1;
  if (done % step != 0 && done != total) return;
  std::fprintf(stdout, "  %s: %lld/%lld (%.0f%%)\n", what.c_str(), done, total,
               100.0 * static_cast<double>(done) / static_cast<double>(total));
  std::fflush(stdout);
}

}  // namespace velofield
