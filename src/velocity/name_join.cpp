#include "velocity/name_join.hpp"

#include <cstdint>
#include <unordered_map>

#include "core/error.hpp"

namespace velofield {

namespace {

// FNV-1a: the same owner rank for a name on every rank and in every build.
int owner_of(const std::string& name, int ranks) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int>(h % static_cast<uint64_t>(ranks));
}

struct Tagged {
  std::vector<std::string> names;
  std::vector<int64_t> tags;
};

// Sends each (name, tag) to owner_of(name); returns what this rank received, grouped by source
// rank in rank order, and (in `from`) the source rank of each.
Tagged route(MPI_Comm comm, const std::vector<std::string>& names, const std::vector<int64_t>& tags, std::vector<int>* order,
             std::vector<int>* from) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  const size_t R = static_cast<size_t>(ranks);
  std::vector<std::vector<size_t>> bucket(R);
  for (size_t k = 0; k < names.size(); ++k) bucket[static_cast<size_t>(owner_of(names[k], ranks))].push_back(k);
  if (order) {
    order->clear();
    for (const auto& b : bucket)
      for (size_t k : b) order->push_back(static_cast<int>(k));
  }
  // Per destination: the names' bytes, their lengths and their tags.
  std::vector<int> n_send(R), n_recv(R), b_send(R), b_recv(R);
  std::vector<char> bytes;
  std::vector<int64_t> lens_tags;   // (length, tag) pairs
  bool fits = true;
  for (size_t r = 0; r < R; ++r) {
    n_send[r] = static_cast<int>(bucket[r].size());
    size_t start = bytes.size();
    for (size_t k : bucket[r]) {
      bytes.insert(bytes.end(), names[k].begin(), names[k].end());
      lens_tags.push_back(static_cast<int64_t>(names[k].size()));
      lens_tags.push_back(tags[k]);
    }
    const size_t sent = bytes.size() - start;
    fits = fits && sent <= INT32_MAX && 2 * bucket[r].size() <= INT32_MAX;
    b_send[r] = static_cast<int>(sent);
  }
  agree(comm, fits, "internal: more than 2^31 bytes of names for one rank in one exchange");
  MPI_Alltoall(n_send.data(), 1, MPI_INT, n_recv.data(), 1, MPI_INT, comm);
  MPI_Alltoall(b_send.data(), 1, MPI_INT, b_recv.data(), 1, MPI_INT, comm);
  auto displs = [](const std::vector<int>& counts, int scale) {
    std::vector<int> d(counts.size(), 0);
    for (size_t r = 1; r < counts.size(); ++r) d[r] = d[r - 1] + counts[r - 1] * scale;
    return d;
  };
  std::vector<int> pair_send(R), pair_recv(R);
  for (size_t r = 0; r < R; ++r) {
    pair_send[r] = 2 * n_send[r];
    pair_recv[r] = 2 * n_recv[r];
  }
  const auto ps_d = displs(pair_send, 1), pr_d = displs(pair_recv, 1), bs_d = displs(b_send, 1), br_d = displs(b_recv, 1);
  std::vector<int64_t> in_pairs(static_cast<size_t>(pr_d.back() + pair_recv.back()));
  std::vector<char> in_bytes(static_cast<size_t>(br_d.back() + b_recv.back()));
  MPI_Alltoallv(lens_tags.data(), pair_send.data(), ps_d.data(), MPI_INT64_T, in_pairs.data(), pair_recv.data(), pr_d.data(),
                MPI_INT64_T, comm);
  MPI_Alltoallv(bytes.data(), b_send.data(), bs_d.data(), MPI_CHAR, in_bytes.data(), b_recv.data(), br_d.data(), MPI_CHAR, comm);
  Tagged out;
  size_t pos = 0, pair = 0;
  if (from) from->clear();
  for (size_t r = 0; r < R; ++r)
    for (int k = 0; k < n_recv[r]; ++k) {
      const size_t len = static_cast<size_t>(in_pairs[pair]);
      out.names.emplace_back(in_bytes.data() + pos, len);
      out.tags.push_back(in_pairs[pair + 1]);
      if (from) from->push_back(static_cast<int>(r));
      pos += len;
      pair += 2;
    }
  return out;
}

}  // namespace

std::vector<int64_t> join_names(MPI_Comm comm, const std::vector<std::string>& wanted, const std::vector<std::string>& have,
                                int64_t have_begin) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  std::vector<int64_t> rows(have.size());
  for (size_t k = 0; k < have.size(); ++k) rows[k] = have_begin + static_cast<int64_t>(k);
  const Tagged owned = route(comm, have, rows, nullptr, nullptr);
  std::unordered_map<std::string, int64_t> index;
  index.reserve(owned.names.size());
  for (size_t k = 0; k < owned.names.size(); ++k) {
    auto [it, fresh] = index.emplace(owned.names[k], owned.tags[k]);
    if (!fresh) it->second = kNameAmbiguous;
  }
  std::vector<int64_t> positions(wanted.size());
  for (size_t k = 0; k < wanted.size(); ++k) positions[k] = static_cast<int64_t>(k);
  std::vector<int> order, from;
  const Tagged asked = route(comm, wanted, positions, &order, &from);
  // Answers go back in the order the questions arrived, grouped by asking rank.
  const size_t R = static_cast<size_t>(ranks);
  std::vector<int> n_answer(R, 0), n_back(R, 0);
  std::vector<int64_t> answers(asked.names.size());
  for (size_t k = 0; k < asked.names.size(); ++k) {
    auto it = index.find(asked.names[k]);
    answers[k] = it == index.end() ? kNameAbsent : it->second;
    ++n_answer[static_cast<size_t>(from[k])];
  }
  MPI_Alltoall(n_answer.data(), 1, MPI_INT, n_back.data(), 1, MPI_INT, comm);
  std::vector<int> a_d(R, 0), b_d(R, 0);
  for (size_t r = 1; r < R; ++r) {
    a_d[r] = a_d[r - 1] + n_answer[r - 1];
    b_d[r] = b_d[r - 1] + n_back[r - 1];
  }
  std::vector<int64_t> back(wanted.size());
  MPI_Alltoallv(answers.data(), n_answer.data(), a_d.data(), MPI_INT64_T, back.data(), n_back.data(), b_d.data(), MPI_INT64_T,
                comm);
  // `back` follows the order this rank sent its questions in (bucket by bucket): undo it.
  std::vector<int64_t> out(wanted.size());
  for (size_t k = 0; k < order.size(); ++k) out[static_cast<size_t>(order[k])] = back[k];
  return out;
}

}  // namespace velofield
