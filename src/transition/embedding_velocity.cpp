#include "transition/embedding_velocity.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "data/row_exchange.hpp"
#include "transition/cell_index_map.hpp"
#include "velocity_projection.hpp"

namespace velofield {

DenseArray embedding_velocity(const Dataset& d, const DistMatrix& T, const DenseArray& E, bool correct_density,
                              ProjectionReport& report) {
  const double t0 = MPI_Wtime();
  const int64_t n = d.n_obs_local, dim = E.row_stride(), b = d.obs_begin;
  std::vector<int64_t> indptr, cols;
  std::vector<double> weights;
  T.local_csr(indptr, cols, weights);

  // Positions: the rank's cells in rows 0 .. n, then the remote columns of T.
  std::vector<double> positions(static_cast<size_t>(n * dim));
  for (int64_t k = 0; k < n * dim; ++k) positions[static_cast<size_t>(k)] = E.values.as_double(static_cast<size_t>(k));
  std::vector<int64_t> remote;
  for (int64_t c : cols)
    if (c < b || c >= b + n) remote.push_back(c);
  std::sort(remote.begin(), remote.end());
  remote.erase(std::unique(remote.begin(), remote.end()), remote.end());
  const std::function<void(int64_t, double*)> pack = [&](int64_t local, double* out) {
    std::copy(positions.begin() + local * dim, positions.begin() + (local + 1) * dim, out);
  };
  const std::vector<double> halo = fetch_rows(d.comm, d.partition(), remote, dim, pack);
  positions.insert(positions.end(), halo.begin(), halo.end());
  CellIndexMap halo_row(static_cast<int64_t>(remote.size()));
  for (size_t q = 0; q < remote.size(); ++q) halo_row.insert(remote[q], n + static_cast<int64_t>(q));
  std::vector<int64_t> neighbor(cols.size()), cell_row(static_cast<size_t>(n));
  for (size_t k = 0; k < cols.size(); ++k) neighbor[k] = cols[k] >= b && cols[k] < b + n ? cols[k] - b : halo_row.find(cols[k]);
  for (int64_t i = 0; i < n; ++i) cell_row[static_cast<size_t>(i)] = i;

  DenseArray out = DenseArray::zeros({n, dim}, DType::f64);
  kernels::ProjectionInput in;
  in.cells = n;
  in.dim = dim;
  in.n_rows = n + static_cast<int64_t>(remote.size());
  in.embedding = positions.data();
  in.cell_row = cell_row.data();
  in.offsets = indptr.data();
  in.neighbor_row = neighbor.data();
  in.weights = weights.data();
  kernels::velocity_projection(in, correct_density, out.values.data<double>());

  report.halo_rows = static_cast<int64_t>(remote.size());
  report.bytes_received = report.halo_rows * dim * static_cast<int64_t>(sizeof(double));
  report.undefined_cells = 0;
  for (int64_t i = 0; i < n; ++i) report.undefined_cells += dim > 0 && std::isnan(out.values.data<double>()[i * dim]);
  report.seconds = MPI_Wtime() - t0;
  return out;
}

}  // namespace velofield
