#pragma once
// How the SparseVFC fit lays out the cells so that its result is the same at any rank count, to
// the bit. The cells are cut into fixed chunks of `chunk_rows` consecutive cells (a function of the
// number of cells and of M only), and each rank fits a contiguous run of whole chunks. Every
// per-cell computation and every BLAS call then sees the same rows at any rank count, each
// chunk's partial sums are the same numbers, and only their combination needs care: M × M sums go
// through fixed_point_sum.hpp, scalar sums are added in chunk order (ChunkOrderedSums).
//
// The dataset's own layout (BlockPartition) differs; the fit's inputs move to the fit layout once
// and its per-cell outputs move back once (d + a few doubles per cell).
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "core/partition.hpp"

namespace velofield {

struct FitLayout {
  int64_t total = 0;              // cells
  int64_t chunk_rows = 0;         // cells per chunk (the last chunk may be shorter)
  std::vector<int64_t> offsets;   // ranks + 1 entries: rank r fits cells [offsets[r], offsets[r + 1])

  int64_t begin(int rank) const { return offsets[static_cast<size_t>(rank)]; }
  int64_t rows(int rank) const { return offsets[static_cast<size_t>(rank) + 1] - offsets[static_cast<size_t>(rank)]; }
  int64_t chunks() const { return chunk_rows > 0 ? (total + chunk_rows - 1) / chunk_rows : 0; }
};

// Cells per chunk for `cells` cells and M control points (at least 8 chunks where the cells allow,
// 256 to max(2048, M) cells each); never depends on the rank count.
int64_t fit_chunk_rows(int64_t cells, int64_t M);

// The chunks split over `ranks` as evenly as whole chunks allow (the first ranks one more).
FitLayout make_fit_layout(int64_t cells, int64_t M, int ranks);

// The offsets (ranks + 1 entries) of a block partition.
std::vector<int64_t> block_offsets(const BlockPartition& partition);

// Collective: rows of `width` doubles laid out contiguously by `from` (this rank holds rows
// [from[r], from[r+1]) in `local`) are returned as laid out by `to`. Both are rank offsets over
// the same rows.
std::vector<double> move_rows(MPI_Comm comm, const std::vector<int64_t>& from, const std::vector<int64_t>& to,
                              int64_t width, const std::vector<double>& local);

// Scalar sums over the chunks in global chunk order, whatever rank holds which chunks: each
// rank's per-chunk partials are gathered (a few doubles per chunk) and added in chunk order on
// every rank. Ranks must hold consecutive chunks in rank order (as FitLayout gives them).
class ChunkOrderedSums {
 public:
  // Collective.
  ChunkOrderedSums(MPI_Comm comm, int64_t local_chunks);
  // Collective. local: this rank's chunks × width partials, in chunk order. Returns the width sums.
  std::vector<double> sum(const std::vector<double>& local, int width) const;

 private:
  MPI_Comm comm_;
  std::vector<int64_t> chunks_per_rank_;
};

}  // namespace velofield
