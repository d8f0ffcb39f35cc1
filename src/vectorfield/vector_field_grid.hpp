#pragma once
// The grid dynamo's VectorField evaluates a low-dimensional field on (dim < 4): per dimension,
// over all cells, lo = min - 0.01 |max - min| and then hi = max + 0.01 |max - lo| (the upper margin
// uses the already lowered minimum, as dynamo does), grid_num evenly spaced points from lo to hi,
// and the points of numpy.meshgrid (default 'xy' indexing) flattened in C order: in 2-D the first
// coordinate varies fastest.
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace velofield {

// Collective (a min/max all-reduce). Returns grid_num^dim × dim, row-major, on every rank.
std::vector<double> dynamo_grid(MPI_Comm comm, int64_t rows, int64_t dim, const double* x, int64_t grid_num);

}  // namespace velofield
