#include "velocity/models/gene_transpose.hpp"

#include <stdexcept>

namespace velofield::models {

namespace {

int checked(int64_t n) {
  if (n > INT32_MAX) throw std::length_error("gene transpose: a message over 2^31 values; use smaller gene blocks");
  return static_cast<int>(n);
}

}  // namespace

std::vector<int64_t> owned_genes(int64_t n_genes, int rank, int ranks) {
  std::vector<int64_t> out;
  for (int64_t j = rank; j < n_genes; j += ranks) out.push_back(j);
  return out;
}

std::vector<float> cells_to_genes(MPI_Comm comm, const BlockPartition& cells, const std::vector<float>& local,
                                  int64_t n_genes) {
  int rank = 0, p = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  const int64_t n_local = cells.size(rank);
  const std::vector<int64_t> mine = owned_genes(n_genes, rank, p);
  std::vector<int> scount(static_cast<size_t>(p)), sdisp(static_cast<size_t>(p)), rcount(static_cast<size_t>(p)),
      rdisp(static_cast<size_t>(p));
  std::vector<float> send;
  send.reserve(local.size());
  for (int r = 0; r < p; ++r) {
    sdisp[static_cast<size_t>(r)] = checked(static_cast<int64_t>(send.size()));
    for (int64_t j : owned_genes(n_genes, r, p))
      send.insert(send.end(), local.begin() + j * n_local, local.begin() + (j + 1) * n_local);
    scount[static_cast<size_t>(r)] = checked(static_cast<int64_t>(send.size())) - sdisp[static_cast<size_t>(r)];
  }
  int64_t total = 0;
  for (int r = 0; r < p; ++r) {
    rdisp[static_cast<size_t>(r)] = checked(total);
    rcount[static_cast<size_t>(r)] = checked(static_cast<int64_t>(mine.size()) * cells.size(r));
    total += rcount[static_cast<size_t>(r)];
  }
  std::vector<float> recv(static_cast<size_t>(total));
  MPI_Alltoallv(send.data(), scount.data(), sdisp.data(), MPI_FLOAT, recv.data(), rcount.data(), rdisp.data(), MPI_FLOAT,
                comm);
  // From rank r: for each of my genes, rank r's rows, which are the cells [begin(r), end(r)).
  const int64_t n = cells.total;
  std::vector<float> out(static_cast<size_t>(static_cast<int64_t>(mine.size()) * n));
  for (int r = 0; r < p; ++r) {
    const float* src = recv.data() + rdisp[static_cast<size_t>(r)];
    for (size_t k = 0; k < mine.size(); ++k)
      std::copy_n(src + static_cast<int64_t>(k) * cells.size(r), cells.size(r),
                  out.begin() + static_cast<int64_t>(k) * n + cells.begin(r));
  }
  return out;
}

std::vector<float> genes_to_cells(MPI_Comm comm, const BlockPartition& cells, const std::vector<float>& mine_columns,
                                  int64_t n_genes) {
  int rank = 0, p = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  const int64_t n = cells.total, n_local = cells.size(rank);
  const std::vector<int64_t> mine = owned_genes(n_genes, rank, p);
  std::vector<int> scount(static_cast<size_t>(p)), sdisp(static_cast<size_t>(p)), rcount(static_cast<size_t>(p)),
      rdisp(static_cast<size_t>(p));
  std::vector<float> send;
  send.reserve(mine_columns.size());
  for (int r = 0; r < p; ++r) {
    sdisp[static_cast<size_t>(r)] = checked(static_cast<int64_t>(send.size()));
    for (size_t k = 0; k < mine.size(); ++k) {
      const auto col = mine_columns.begin() + static_cast<int64_t>(k) * n;
      send.insert(send.end(), col + cells.begin(r), col + cells.end(r));
    }
    scount[static_cast<size_t>(r)] = checked(static_cast<int64_t>(send.size())) - sdisp[static_cast<size_t>(r)];
  }
  int64_t total = 0;
  for (int r = 0; r < p; ++r) {
    rdisp[static_cast<size_t>(r)] = checked(total);
    rcount[static_cast<size_t>(r)] = checked(static_cast<int64_t>(owned_genes(n_genes, r, p).size()) * n_local);
    total += rcount[static_cast<size_t>(r)];
  }
  std::vector<float> recv(static_cast<size_t>(total));
  MPI_Alltoallv(send.data(), scount.data(), sdisp.data(), MPI_FLOAT, recv.data(), rcount.data(), rdisp.data(), MPI_FLOAT,
                comm);
  std::vector<float> local(static_cast<size_t>(n_genes * n_local));
  for (int r = 0; r < p; ++r) {
    const float* src = recv.data() + rdisp[static_cast<size_t>(r)];
    const std::vector<int64_t> theirs = owned_genes(n_genes, r, p);
    for (size_t k = 0; k < theirs.size(); ++k)
      std::copy_n(src + static_cast<int64_t>(k) * n_local, n_local, local.begin() + theirs[k] * n_local);
  }
  return local;
}

}  // namespace velofield::models
