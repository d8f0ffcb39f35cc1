#include "vectorfield/fit_layout.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace velofield {

namespace {
// Each chunk's M(M+1)/2 partial sums are converted to fixed point (~2-3 ns per sum, mostly memory
// traffic), against the chunk's SYRK at ~0.025 ns per row and sum: the conversion costs about
// 100 / rows of the SYRK. Chunks of up to max(2048, M) rows keep it near 5% or less on large data
// (a chunk of U then holds at most max(2048, M) · M doubles, no more than one M × M matrix).
constexpr int64_t kMaxChunkRows = 2048;
// At least 8 chunks where the cells allow, so that 2 ranks get equal and 3 ranks near-equal shares
// of whole chunks (pancreas, 3,696 cells: 8 chunks of 462).
constexpr int64_t kMinChunks = 8;
// Below 256 cells a chunk's SYRK is too short for the conversion to stay small beside it.
constexpr int64_t kMinChunkRows = 256;
}  // namespace

int64_t fit_chunk_rows(int64_t cells, int64_t M) {
  const int64_t rows = std::min(std::max(kMaxChunkRows, M), (cells + kMinChunks - 1) / kMinChunks);
  return std::max(rows, kMinChunkRows);
}

FitLayout make_fit_layout(int64_t cells, int64_t M, int ranks) {
  FitLayout layout;
  layout.total = cells;
  layout.chunk_rows = fit_chunk_rows(cells, M);
  const BlockPartition chunks{layout.chunks(), ranks};
  layout.offsets.resize(static_cast<size_t>(ranks) + 1);
  for (int r = 0; r <= ranks; ++r)
    layout.offsets[static_cast<size_t>(r)] = std::min(cells, chunks.begin(r) * layout.chunk_rows);
  return layout;
}

std::vector<int64_t> block_offsets(const BlockPartition& partition) {
  std::vector<int64_t> offsets(static_cast<size_t>(partition.ranks) + 1);
  for (int r = 0; r <= partition.ranks; ++r) offsets[static_cast<size_t>(r)] = partition.begin(r);
  return offsets;
}

std::vector<double> move_rows(MPI_Comm comm, const std::vector<int64_t>& from, const std::vector<int64_t>& to,
                              int64_t width, const std::vector<double>& local) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const size_t me = static_cast<size_t>(rank);
  // Both layouts are contiguous and in rank order: what rank s sends rank t is the overlap of
  // s's rows under `from` with t's rows under `to`, known to both without asking.
  auto overlap = [](int64_t a0, int64_t a1, int64_t b0, int64_t b1) { return std::max<int64_t>(0, std::min(a1, b1) - std::max(a0, b0)); };
  std::vector<int> send_counts(static_cast<size_t>(size)), send_displs(static_cast<size_t>(size)),
      recv_counts(static_cast<size_t>(size)), recv_displs(static_cast<size_t>(size));
  const int64_t out_rows = to[me + 1] - to[me];
  const int64_t biggest = std::max(out_rows, from[me + 1] - from[me]) * width;
  agree(comm, biggest <= INT32_MAX,
        "internal: moving the fit's rows would put " + std::to_string(biggest) + " values (more than 2^31) on one rank");
  for (int r = 0; r < size; ++r) {
    const size_t u = static_cast<size_t>(r);
    const int64_t send_first = std::max(from[me], to[u]), recv_first = std::max(to[me], from[u]);
    send_counts[u] = static_cast<int>(overlap(from[me], from[me + 1], to[u], to[u + 1]) * width);
    send_displs[u] = static_cast<int>(send_counts[u] > 0 ? (send_first - from[me]) * width : 0);
    recv_counts[u] = static_cast<int>(overlap(to[me], to[me + 1], from[u], from[u + 1]) * width);
    recv_displs[u] = static_cast<int>(recv_counts[u] > 0 ? (recv_first - to[me]) * width : 0);
  }
  std::vector<double> out(static_cast<size_t>(out_rows * width));
  MPI_Alltoallv(local.data(), send_counts.data(), send_displs.data(), MPI_DOUBLE, out.data(), recv_counts.data(),
                recv_displs.data(), MPI_DOUBLE, comm);
  return out;
}

ChunkOrderedSums::ChunkOrderedSums(MPI_Comm comm, int64_t local_chunks) : comm_(comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  chunks_per_rank_.resize(static_cast<size_t>(size));
  MPI_Allgather(&local_chunks, 1, MPI_INT64_T, chunks_per_rank_.data(), 1, MPI_INT64_T, comm);
}

std::vector<double> ChunkOrderedSums::sum(const std::vector<double>& local, int width) const {
  const size_t ranks = chunks_per_rank_.size();
  std::vector<int> counts(ranks), displs(ranks, 0);
  for (size_t r = 0; r < ranks; ++r) {
    counts[r] = static_cast<int>(chunks_per_rank_[r] * width);
    if (r > 0) displs[r] = displs[r - 1] + counts[r - 1];
  }
  std::vector<double> all(static_cast<size_t>(displs.back() + counts.back()));
  MPI_Allgatherv(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                 MPI_DOUBLE, comm_);
  std::vector<double> total(static_cast<size_t>(width), 0.0);
  for (size_t c = 0; c * static_cast<size_t>(width) < all.size(); ++c)
    for (int q = 0; q < width; ++q) total[static_cast<size_t>(q)] += all[c * static_cast<size_t>(width) + static_cast<size_t>(q)];
  return total;
}

}  // namespace velofield
