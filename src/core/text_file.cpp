#include "core/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.hpp"

namespace velofield {

namespace {
// The failure, or "" on success.
std::string try_write(const std::string& path, const std::string& text, const std::string& key, const std::string& what) {
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  std::error_code ec;
  if (!f) {
    std::filesystem::remove(tmp, ec);
    return describe(path, key, "cannot write the " + what);
  }
  std::filesystem::rename(tmp, path, ec);
  if (!ec) return "";
  std::error_code ignored;
  std::filesystem::remove(tmp, ignored);
  return describe(path, key, "cannot rename " + tmp + " into place: " + ec.message());
}
}  // namespace

void write_text_file(const std::string& path, const std::string& text, const std::string& key, const std::string& what) {
  const std::string problem = try_write(path, text, key, what);
  if (!problem.empty()) throw Error(problem);
}

void write_text_file_on_rank0(MPI_Comm comm, const std::string& path, const std::string& text, const std::string& key,
                              const std::string& what) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const std::string problem = rank == 0 ? try_write(path, text, key, what) : "";
  agree(comm, problem.empty(), problem);
}

}  // namespace velofield
