#include "data/validate_names.hpp"

#include <algorithm>
#include <climits>
#include <functional>

#include "core/error.hpp"

namespace velofield {

namespace {
const std::string kUnique = "; make the names unique (anndata: obs_names_make_unique / var_names_make_unique)";

// A repeated name: its two lowest positions. `second` orders the reports, so that the one
// reported does not depend on the number of ranks.
struct Repeat {
  std::string name;
  int64_t first = -1, second = INT64_MAX;
  int64_t extra = 0;   // occurrences beyond the first, over all names
};

Repeat repeats_in(std::vector<std::pair<std::string, int64_t>> names) {
  std::sort(names.begin(), names.end());
  Repeat r;
  size_t head = 0;   // the first element of the current run of equal names
  for (size_t i = 1; i < names.size(); ++i) {
    if (names[i].first != names[head].first) {
      head = i;
      continue;
    }
    ++r.extra;
    // Sorted by (name, position): the element right after the head is the name's second occurrence.
    if (i == head + 1 && names[i].second < r.second) {
      r.name = names[i].first;
      r.first = names[head].second;
      r.second = names[i].second;
    }
  }
  return r;
}

// Cells are spread over the ranks: each name goes to the rank its hash picks, so that equal names
// meet on one rank whatever the partition. Exchanged as (length, global index, bytes) records.
Repeat distributed_repeats(const Dataset& d) {
  int size = 1;
  MPI_Comm_size(d.comm, &size);
  std::vector<std::string> outgoing(static_cast<size_t>(size));
  const std::hash<std::string> hasher;
  for (size_t i = 0; i < d.obs.index.size(); ++i) {
    const std::string& name = d.obs.index[i];
    std::string& out = outgoing[hasher(name) % static_cast<size_t>(size)];
    const int64_t header[2] = {static_cast<int64_t>(name.size()), d.obs_begin + static_cast<int64_t>(i)};
    out.append(reinterpret_cast<const char*>(header), sizeof header);
    out += name;
  }
  std::vector<int> send_counts(static_cast<size_t>(size)), recv_counts(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) send_counts[static_cast<size_t>(r)] = static_cast<int>(outgoing[static_cast<size_t>(r)].size());
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, d.comm);
  std::vector<int> send_offsets(static_cast<size_t>(size), 0), recv_offsets(static_cast<size_t>(size), 0);
  for (int r = 1; r < size; ++r) {
    send_offsets[static_cast<size_t>(r)] = send_offsets[static_cast<size_t>(r - 1)] + send_counts[static_cast<size_t>(r - 1)];
    recv_offsets[static_cast<size_t>(r)] = recv_offsets[static_cast<size_t>(r - 1)] + recv_counts[static_cast<size_t>(r - 1)];
  }
  std::string send, recv(static_cast<size_t>(recv_offsets.back() + recv_counts.back()), '\0');
  for (const auto& o : outgoing) send += o;
  MPI_Alltoallv(send.data(), send_counts.data(), send_offsets.data(), MPI_CHAR, recv.data(), recv_counts.data(), recv_offsets.data(),
                MPI_CHAR, d.comm);
  std::vector<std::pair<std::string, int64_t>> mine;
  for (size_t at = 0; at < recv.size();) {
    int64_t header[2];
    std::copy(recv.data() + at, recv.data() + at + sizeof header, reinterpret_cast<char*>(header));
    at += sizeof header;
    mine.emplace_back(recv.substr(at, static_cast<size_t>(header[0])), header[1]);
    at += static_cast<size_t>(header[0]);
  }
  return repeats_in(std::move(mine));
}
}  // namespace

void validate_names(const Dataset& d) {
  if (d.n_obs == 0) fail(d.source, "obs", "the file has no cells");
  if (d.n_vars == 0) fail(d.source, "var", "the file has no genes");

  // var is replicated: every rank finds the same repeat and throws alike.
  std::vector<std::pair<std::string, int64_t>> genes;
  for (size_t j = 0; j < d.var.index.size(); ++j) genes.emplace_back(d.var.index[j], static_cast<int64_t>(j));
  const Repeat g = repeats_in(std::move(genes));
  if (g.extra > 0)
    fail(d.source, "var/" + d.var.index_key,
         "gene name '" + g.name + "' occurs more than once (genes " + std::to_string(g.first) + " and " + std::to_string(g.second) + "; " +
             std::to_string(g.extra) + " extra occurrence(s) in all)" + kUnique);

  const Repeat c = distributed_repeats(d);
  int64_t extra = c.extra, lowest = c.second;
  MPI_Allreduce(MPI_IN_PLACE, &extra, 1, MPI_INT64_T, MPI_SUM, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT64_T, MPI_MIN, d.comm);
  if (extra == 0) return;
  // Exactly one rank holds the repeat with the lowest second position: its message is the one.
  agree(d.comm, c.second != lowest,
        describe(d.source, "obs/" + d.obs.index_key,
                 "cell name '" + c.name + "' occurs more than once (cells " + std::to_string(c.first) + " and " + std::to_string(c.second) +
                     "; " + std::to_string(extra) + " extra occurrence(s) in all)" + kUnique));
}

}  // namespace velofield
