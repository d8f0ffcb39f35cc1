#include "core/error.hpp"

#include <vector>

namespace velofield {

std::string Error::one_line(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else out += ch;
  }
  return out;
}

std::string describe(const std::string& file, const std::string& key, const std::string& problem) {
  std::string out;
  if (!file.empty()) out += file + ": ";
  if (!key.empty()) out += key + ": ";
  return out + problem;
}

void fail(const std::string& file, const std::string& key, const std::string& problem) {
  throw Error(describe(file, key, problem));
}

void agree(MPI_Comm comm, bool ok, const std::string& message_if_failed) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int first_failed = ok ? INT32_MAX : rank;
  MPI_Allreduce(MPI_IN_PLACE, &first_failed, 1, MPI_INT, MPI_MIN, comm);
  if (first_failed == INT32_MAX) return;
  int length = rank == first_failed ? static_cast<int>(message_if_failed.size()) : 0;
  MPI_Bcast(&length, 1, MPI_INT, first_failed, comm);
  std::vector<char> buffer(static_cast<size_t>(length));
  if (rank == first_failed) buffer.assign(message_if_failed.begin(), message_if_failed.end());
  MPI_Bcast(buffer.data(), length, MPI_CHAR, first_failed, comm);
  throw Error(std::string(buffer.begin(), buffer.end()));
}

}  // namespace velofield
