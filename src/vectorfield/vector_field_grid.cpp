#include "vectorfield/vector_field_grid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace velofield {

std::vector<double> dynamo_grid(MPI_Comm comm, int64_t rows, int64_t dim, const double* x, int64_t grid_num) {
  std::vector<double> lo(static_cast<size_t>(dim), std::numeric_limits<double>::infinity());
  std::vector<double> hi(static_cast<size_t>(dim), -std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t q = 0; q < dim; ++q) {
      lo[static_cast<size_t>(q)] = std::min(lo[static_cast<size_t>(q)], x[i * dim + q]);
      hi[static_cast<size_t>(q)] = std::max(hi[static_cast<size_t>(q)], x[i * dim + q]);
    }
  MPI_Allreduce(MPI_IN_PLACE, lo.data(), static_cast<int>(dim), MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(MPI_IN_PLACE, hi.data(), static_cast<int>(dim), MPI_DOUBLE, MPI_MAX, comm);
  std::vector<std::vector<double>> axes(static_cast<size_t>(dim));
  for (int64_t q = 0; q < dim; ++q) {
    const size_t uq = static_cast<size_t>(q);
    const double a = lo[uq] - 0.01 * std::abs(hi[uq] - lo[uq]);
    const double b = hi[uq] + 0.01 * std::abs(hi[uq] - a);
    axes[uq].resize(static_cast<size_t>(grid_num));
    // numpy.linspace: start + k·step, with the end point exact.
    const double step = grid_num > 1 ? (b - a) / static_cast<double>(grid_num - 1) : 0;
    for (int64_t k = 0; k < grid_num; ++k) axes[uq][static_cast<size_t>(k)] = a + static_cast<double>(k) * step;
    if (grid_num > 1) axes[uq].back() = b;
  }
  // meshgrid('xy') arrays have shape (n_1, n_0, n_2, ..., n_{dim-1}); flattening them in C order
  // makes the last listed axis vary fastest.
  std::vector<int64_t> shape_axis(static_cast<size_t>(dim));
  for (int64_t q = 0; q < dim; ++q) shape_axis[static_cast<size_t>(q)] = q;
  if (dim >= 2) std::swap(shape_axis[0], shape_axis[1]);
  int64_t points = 1;
  for (int64_t q = 0; q < dim; ++q) points *= grid_num;
  std::vector<double> grid(static_cast<size_t>(points * dim));
  for (int64_t p = 0; p < points; ++p) {
    int64_t rest = p;
    for (int64_t j = dim - 1; j >= 0; --j) {
      const int64_t digit = rest % grid_num;
      rest /= grid_num;
      const int64_t q = shape_axis[static_cast<size_t>(j)];
      grid[static_cast<size_t>(p * dim + q)] = axes[static_cast<size_t>(q)][static_cast<size_t>(digit)];
    }
  }
  return grid;
}

}  // namespace velofield
