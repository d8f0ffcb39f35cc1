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

HomeResults results_at_home(MPI_Comm comm, const FitCells& cells, std::vector<double>&& V, std::vector<double>&& P,
                            CellCalculus* calc) {
  const int64_t D = cells.dim;
  // One array at a time, each released once moved: at most one extra per-cell array is alive
  // (packing them all into one message would hold (3d + 3) doubles per cell twice over).
  auto home = [&](std::vector<double>& fit_layout, int64_t width) {
    std::vector<double> out = move_rows(comm, cells.layout.offsets, cells.home, width, fit_layout);
    std::vector<double>().swap(fit_layout);
    return out;
  };
  HomeResults out;
  out.V = home(V, D);
  out.P = home(P, 1);
  if (calc) {
    out.calculus.divergence = home(calc->divergence, 1);
    out.calculus.acceleration = home(calc->acceleration, D);
    out.calculus.curvature = home(calc->curvature, D);
    // The width from the dimension, not from curl's size: a rank without cells must agree.
    if (D == 2 || D == 3) out.calculus.curl = home(calc->curl, D == 3 ? 3 : 1);
  }
  return out;
}

}  // namespace velofield
