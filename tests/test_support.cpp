#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "test_paths.hpp"

namespace velofield::test {

std::string shared_dir() {
  if (const char* env = std::getenv("VELOFIELD_SHARED_DIR"); env && *env) return env;
  return VELOFIELD_SHARED_DIR;
}

std::string shared_data(const std::string& name) {
  const std::string p = shared_dir() + "/data/" + name;
  return std::filesystem::exists(p) ? p : std::string();
}

int rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

int ranks(MPI_Comm comm) {
  int s = 1;
  MPI_Comm_size(comm, &s);
  return s;
}

std::string temp_dir(MPI_Comm comm) {
  std::string path;
  if (rank(comm) == 0) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "velofield_test_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) path = "/tmp";
    else path = buf.data();
  }
  int len = static_cast<int>(path.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, comm);
  path.resize(static_cast<size_t>(len));
  MPI_Bcast(path.data(), len, MPI_CHAR, 0, comm);
  return path;
}

std::string cli_path() { return VELOFIELD_CLI; }

}  // namespace velofield::test

namespace velofield::test {

std::vector<std::string> all_gather(const std::string& s, MPI_Comm comm) {
  const int n = ranks(comm);
  int len = static_cast<int>(s.size());
  std::vector<int> lens(static_cast<size_t>(n));
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm);
  std::vector<int> displs(static_cast<size_t>(n), 0);
  for (int r = 1; r < n; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + lens[static_cast<size_t>(r - 1)];
  std::vector<char> buf(static_cast<size_t>(displs.back() + lens.back()) + 1);
  MPI_Allgatherv(s.data(), len, MPI_CHAR, buf.data(), lens.data(), displs.data(), MPI_CHAR, comm);
  std::vector<std::string> out;
  for (int r = 0; r < n; ++r)
    out.emplace_back(buf.data() + displs[static_cast<size_t>(r)], static_cast<size_t>(lens[static_cast<size_t>(r)]));
  return out;
}

}  // namespace velofield::test
