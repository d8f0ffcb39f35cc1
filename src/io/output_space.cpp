#include "io/output_space.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace velofield {

namespace {
// Sizes as a person reads them: 12 KiB, 3.4 MiB, 1.2 GiB.
std::string size_text(uint64_t bytes) {
  char text[32];
  if (bytes < (1u << 20)) std::snprintf(text, sizeof text, "%llu KiB", static_cast<unsigned long long>((bytes + 1023) >> 10));
  else if (bytes < (1ull << 30)) std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return text;
}

// Rank 0's view of the output location; "" when it is fine.
std::string output_problem(const std::string& output, uint64_t needed_bytes) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(output).parent_path().empty() ? fs::path(".") : fs::path(output).parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "the output directory " + dir.string() + " does not exist";
  if (fs::is_directory(output, ec)) return "is a directory; give a file name for the output";
  const fs::path probe = dir / (".velofield-probe." + std::to_string(getpid()));
  const int fd = ::open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
  if (fd < 0) return "the output directory " + dir.string() + " does not accept new files: " + std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  uint64_t free_bytes = 0;
  if (const char* override_bytes = std::getenv("VELOFIELD_FREE_BYTES"); override_bytes && *override_bytes) {
    free_bytes = std::strtoull(override_bytes, nullptr, 10);
  } else {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return "cannot query the free space of " + dir.string() + ": " + std::strerror(errno);
    free_bytes = static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }
  if (free_bytes < needed_bytes)
    return "not enough free space in " + dir.string() + ": " + size_text(free_bytes) + " free, the run needs at least " + size_text(needed_bytes) +
           " (the result holds every slot of the input; with checkpoints, two copies exist while one is written); free space or write elsewhere";
  return "";
}
}  // namespace

void check_output_space(MPI_Comm comm, const std::string& output, const std::string& key, uint64_t needed_bytes) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string problem;
  if (rank == 0) problem = output_problem(output, needed_bytes);
  agree(comm, problem.empty(), describe(output, key, problem));
}

void check_free_space(MPI_Comm comm, const std::string& output, uint64_t bytes) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string problem;
  if (rank == 0) {
    const std::filesystem::path dir =
        std::filesystem::path(output).parent_path().empty() ? std::filesystem::path(".") : std::filesystem::path(output).parent_path();
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) == 0) {
      const uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
      if (free_bytes < bytes)
        problem = "not enough free space in " + dir.string() + " to write the result: " + size_text(free_bytes) + " free, its arrays alone take " +
                  size_text(bytes) + "; free space or write elsewhere";
    }
  }
  agree(comm, problem.empty(), describe(output, "", problem));
}

uint64_t minimum_output_bytes(const std::string& input, bool checkpoints) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(input, ec);
  if (ec) return 0;
  return static_cast<uint64_t>(size) * (checkpoints ? 2u : 1u);
}

}  // namespace velofield
