#include "velocity/models/deepvelo_graph.hpp"

#include <petscmat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "data/dist_matrix.hpp"
#include "data/row_exchange.hpp"

namespace velofield::models {

namespace {

void check_petsc(PetscErrorCode ierr, const char* what) {
  if (ierr != 0) throw Error(std::string("internal: PETSc ") + what + " failed with code " + std::to_string(ierr));
}

// Global indices of `wanted` outside [begin, end), sorted and unique.
std::vector<int64_t> remote_of(const std::vector<int64_t>& wanted, int64_t begin, int64_t end) {
  std::vector<int64_t> out;
  for (int64_t g : wanted)
    if (g < begin || g >= end) out.push_back(g);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Position of global cell g in [own rows | remote], remote sorted.
int64_t column_of(int64_t g, int64_t begin, int64_t end, const std::vector<int64_t>& remote) {
  if (g >= begin && g < end) return g - begin;
  return (end - begin) + (std::lower_bound(remote.begin(), remote.end(), g) - remote.begin());
}

}  // namespace

DeepveloGraph build_deepvelo_graph(MPI_Comm comm, const BlockPartition& cells, const std::vector<int64_t>& knn_indptr,
                                   const std::vector<int64_t>& knn_cols, const std::vector<double>& knn_distances,
                                   int64_t top_g, int64_t top_c) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const int64_t begin = cells.begin(rank), end = cells.end(rank), n = end - begin;
  DeepveloGraph g;
  g.n_local = n;
  // Each row's neighbours by distance (ties by index, so the choice is the same at any rank count).
  std::vector<std::vector<int64_t>> nearest(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int64_t>> row;
    for (int64_t k = knn_indptr[static_cast<size_t>(i)]; k < knn_indptr[static_cast<size_t>(i + 1)]; ++k)
      if (knn_cols[static_cast<size_t>(k)] != begin + i)
        row.emplace_back(knn_distances[static_cast<size_t>(k)], knn_cols[static_cast<size_t>(k)]);
    std::sort(row.begin(), row.end());
    for (const auto& e : row) nearest[static_cast<size_t>(i)].push_back(e.second);
  }

  // K: self plus the top_g − 1 nearest; A = K + Kᵀ through PETSc's distributed transpose.
  std::vector<int64_t> k_ptr{0}, k_cols;
  std::vector<double> k_vals;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> row{begin + i};
    const auto& near = nearest[static_cast<size_t>(i)];
    for (size_t k = 0; k < near.size() && static_cast<int64_t>(row.size()) < top_g; ++k) row.push_back(near[k]);
    std::sort(row.begin(), row.end());
    k_cols.insert(k_cols.end(), row.begin(), row.end());
    k_vals.insert(k_vals.end(), row.size(), 1.0);
    k_ptr.push_back(static_cast<int64_t>(k_cols.size()));
  }
  std::vector<int64_t> t_ptr, t_cols;
  std::vector<double> t_vals;
  {
    DistMatrix kmat = DistMatrix::from_local_csr(comm, n, cells.total, k_ptr, k_cols, k_vals, DType::f32);
    Mat transposed = nullptr;
    check_petsc(MatTranspose(kmat.mat(), MAT_INITIAL_MATRIX, &transposed), "MatTranspose");
    DistMatrix reverse(transposed, DType::f32);
    reverse.local_csr(t_ptr, t_cols, t_vals);
  }
  std::vector<int64_t> a_ptr{0}, a_cols;
  std::vector<double> a_vals, degree(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    std::map<int64_t, double> row;
    for (int64_t k = k_ptr[static_cast<size_t>(i)]; k < k_ptr[static_cast<size_t>(i + 1)]; ++k)
      row[k_cols[static_cast<size_t>(k)]] += k_vals[static_cast<size_t>(k)];
    for (int64_t k = t_ptr[static_cast<size_t>(i)]; k < t_ptr[static_cast<size_t>(i + 1)]; ++k)
      row[t_cols[static_cast<size_t>(k)]] += t_vals[static_cast<size_t>(k)];
    for (const auto& [c, a] : row) {
      a_cols.push_back(c);
      a_vals.push_back(a);
      degree[static_cast<size_t>(i)] += a;
    }
    a_ptr.push_back(static_cast<int64_t>(a_cols.size()));
  }
  for (double& d : degree) d = std::max(d, 1.0);

  g.halo = remote_of(a_cols, begin, end);
  const std::vector<double> halo_degree =
      fetch_rows(comm, cells, g.halo, 1, [&](int64_t row, double* out) { *out = degree[static_cast<size_t>(row)]; });
  g.indptr = a_ptr;
  g.cols.reserve(a_cols.size());
  g.weights.reserve(a_cols.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = a_ptr[static_cast<size_t>(i)]; k < a_ptr[static_cast<size_t>(i + 1)]; ++k) {
      const int64_t c = a_cols[static_cast<size_t>(k)];
      const int64_t col = column_of(c, begin, end, g.halo);
      const double dj = col < n ? degree[static_cast<size_t>(col)] : halo_degree[static_cast<size_t>(col - n)];
      g.cols.push_back(col);
      g.weights.push_back(a_vals[static_cast<size_t>(k)] / std::sqrt(degree[static_cast<size_t>(i)] * dj));
    }

  // Loss neighbours: the top_c − 1 nearest, padded with the cell itself.
  g.n_neighbors = std::max<int64_t>(top_c - 1, 1);
  std::vector<int64_t> wanted;
  for (const auto& near : nearest)
    for (size_t k = 0; k < near.size() && static_cast<int64_t>(k) < g.n_neighbors; ++k) wanted.push_back(near[k]);
  g.loss_halo = remote_of(wanted, begin, end);
  g.neighbors.assign(static_cast<size_t>(n * g.n_neighbors), 0);
  for (int64_t i = 0; i < n; ++i) {
    const auto& near = nearest[static_cast<size_t>(i)];
    for (int64_t k = 0; k < g.n_neighbors; ++k)
      g.neighbors[static_cast<size_t>(i * g.n_neighbors + k)] =
          k < static_cast<int64_t>(near.size()) ? column_of(near[static_cast<size_t>(k)], begin, end, g.loss_halo) : i;
  }
  return g;
}

}  // namespace velofield::models
