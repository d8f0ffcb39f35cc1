#pragma once
// The control points of SparseVFC: the centres of the Gaussian kernels. Drawn from the cells
// without replacement with probability ∝ speed ||y_i|| (dynamo's velocity-based sampling), or
// given as global cell indices. Collective; every rank gets all of them.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace velofield {

struct ControlPoints {
  std::vector<int64_t> cells;   // global cell indices, in draw order
  std::vector<double> coords;   // cells.size() × dim, row-major
  int64_t dim = 0;
  int64_t size() const { return static_cast<int64_t>(cells.size()); }
};

// Weighted sampling without replacement by exponential keys (Efraimidis & Spirakis 2006: cell i
// gets key log(u_i) / speed_i and the M largest keys win), which draws the same distribution as
// numpy's sequential weighted choice. u_i comes from a counter-based generator keyed by (seed,
// global cell index), so the draw is the same at any rank count. Cells with speed 0 or a
// non-finite speed are never drawn. Cells at an already chosen position are skipped, so the
// centres are distinct (dynamo draws from the unique rows of X).
// `speed` has the local rows' speeds; `what` names the data for the error raised when fewer than
// M cells can be drawn.
ControlPoints sample_control_points_by_speed(MPI_Comm comm, int64_t obs_begin, int64_t rows, int64_t dim,
                                             const double* x, const double* speed, int64_t M, uint64_t seed,
                                             const std::string& what);

// The given global cell indices (checked by the caller) with their coordinates.
ControlPoints control_points_from_cells(MPI_Comm comm, int64_t obs_begin, int64_t rows, int64_t dim, const double* x,
                                        const std::vector<int64_t>& cells);

// Global cell indices from a text file: one per line; blank lines and '#' comments are skipped.
// Checks the range [0, n_obs) and repeats; errors name the file and the line.
std::vector<int64_t> read_cell_index_file(const std::string& path, int64_t n_obs);

}  // namespace velofield

namespace velofield {
// The position k of the first control point at the same coordinates as an earlier one, -1 if all
// are distinct (coincident centres make the kernel matrix K singular).
int64_t first_repeated_position(const ControlPoints& points);
}  // namespace velofield
