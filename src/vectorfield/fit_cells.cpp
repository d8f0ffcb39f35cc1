#include "vectorfield/fit_cells.hpp"

#include <cmath>

namespace velofield {

FitCells fit_cells(MPI_Comm comm, int64_t obs_begin, int64_t n_obs, int64_t dim, const std::vector<double>& X,
                   const std::vector<double>& Y, int64_t M) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  FitCells c;
  c.dim = dim;
  // The dataset's layout as it is (contiguous blocks in rank order), not as a formula would have it.
  c.home.resize(static_cast<size_t>(size) + 1);
  MPI_Allgather(&obs_begin, 1, MPI_INT64_T, c.home.data(), 1, MPI_INT64_T, comm);
  c.home.back() = n_obs;
  c.layout = make_fit_layout(n_obs, M, size);
  c.begin = c.layout.begin(rank);
  c.rows = c.layout.rows(rank);
  c.x = move_rows(comm, c.home, c.layout.offsets, dim, X);
  c.y = move_rows(comm, c.home, c.layout.offsets, dim, Y);
  c.valid.assign(static_cast<size_t>(c.rows), 1);
  for (int64_t i = 0; i < c.rows; ++i)
    for (int64_t q = 0; q < dim; ++q)
      if (!std::isfinite(c.y[static_cast<size_t>(i * dim + q)])) c.valid[static_cast<size_t>(i)] = 0;
  return c;
}

HomeResults results_at_home(MPI_Comm comm, const FitCells& cells, const std::vector<double>& V,
                            const std::vector<double>& P, const CellCalculus* calc) {
  const int64_t D = cells.dim, rows = cells.rows;
  const int64_t curl_width = !calc || calc->curl.empty() ? 0 : (D == 3 ? 3 : 1);
  // One row per cell: V (D), P, then divergence, acceleration (D), curvature (D), curl.
  const int64_t width = D + 1 + (calc ? 1 + 2 * D + curl_width : 0);
  std::vector<double> packed(static_cast<size_t>(rows * width));
  for (int64_t i = 0; i < rows; ++i) {
    double* row = packed.data() + i * width;
    for (int64_t q = 0; q < D; ++q) *row++ = V[static_cast<size_t>(i * D + q)];
    *row++ = P[static_cast<size_t>(i)];
    if (!calc) continue;
    *row++ = calc->divergence[static_cast<size_t>(i)];
    for (int64_t q = 0; q < D; ++q) *row++ = calc->acceleration[static_cast<size_t>(i * D + q)];
    for (int64_t q = 0; q < D; ++q) *row++ = calc->curvature[static_cast<size_t>(i * D + q)];
    for (int64_t q = 0; q < curl_width; ++q) *row++ = calc->curl[static_cast<size_t>(i * curl_width + q)];
  }
  const std::vector<double> home = move_rows(comm, cells.layout.offsets, cells.home, width, packed);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const int64_t n = cells.home[static_cast<size_t>(rank) + 1] - cells.home[static_cast<size_t>(rank)];
  HomeResults out;
  out.V.resize(static_cast<size_t>(n * D));
  out.P.resize(static_cast<size_t>(n));
  if (calc) {
    out.calculus.divergence.resize(static_cast<size_t>(n));
    out.calculus.acceleration.resize(static_cast<size_t>(n * D));
    out.calculus.curvature.resize(static_cast<size_t>(n * D));
    out.calculus.curl.resize(static_cast<size_t>(n * curl_width));
  }
  for (int64_t i = 0; i < n; ++i) {
    const double* row = home.data() + i * width;
    for (int64_t q = 0; q < D; ++q) out.V[static_cast<size_t>(i * D + q)] = *row++;
    out.P[static_cast<size_t>(i)] = *row++;
    if (!calc) continue;
    out.calculus.divergence[static_cast<size_t>(i)] = *row++;
    for (int64_t q = 0; q < D; ++q) out.calculus.acceleration[static_cast<size_t>(i * D + q)] = *row++;
    for (int64_t q = 0; q < D; ++q) out.calculus.curvature[static_cast<size_t>(i * D + q)] = *row++;
    for (int64_t q = 0; q < curl_width; ++q) out.calculus.curl[static_cast<size_t>(i * curl_width + q)] = *row++;
  }
  return out;
}

}  // namespace velofield
