#include "neighbors/knn_ring.hpp"

#include <string>

#include "core/error.hpp"
#include "core/log.hpp"

namespace velofield {

namespace {

int checked_count(int64_t n) {
  if (n > INT32_MAX) throw Error("internal: a kNN query block of " + std::to_string(n) + " values exceeds one MPI message");
  return static_cast<int>(n);
}

// Sends `out` to rank `to` and receives the block of rank `from` into `in`.
void pass_block(MPI_Comm comm, int to, int from, int dim, int k, const QueryLists& out, QueryLists& in) {
  int64_t n_out = out.size(), n_in = 0;
  MPI_Sendrecv(&n_out, 1, MPI_INT64_T, to, 0, &n_in, 1, MPI_INT64_T, from, 0, comm, MPI_STATUS_IGNORE);
  in.points.resize(static_cast<size_t>(n_in * dim));
  in.ids.resize(static_cast<size_t>(n_in));
  in.dist2.resize(static_cast<size_t>(n_in * k));
  in.best.resize(static_cast<size_t>(n_in * k));
  MPI_Sendrecv(out.points.data(), checked_count(n_out * dim), MPI_DOUBLE, to, 1, in.points.data(), checked_count(n_in * dim),
               MPI_DOUBLE, from, 1, comm, MPI_STATUS_IGNORE);
  MPI_Sendrecv(out.ids.data(), checked_count(n_out), MPI_INT64_T, to, 2, in.ids.data(), checked_count(n_in), MPI_INT64_T,
               from, 2, comm, MPI_STATUS_IGNORE);
  MPI_Sendrecv(out.dist2.data(), checked_count(n_out * k), MPI_DOUBLE, to, 3, in.dist2.data(), checked_count(n_in * k),
               MPI_DOUBLE, from, 3, comm, MPI_STATUS_IGNORE);
  MPI_Sendrecv(out.best.data(), checked_count(n_out * k), MPI_INT64_T, to, 4, in.best.data(), checked_count(n_in * k),
               MPI_INT64_T, from, 4, comm, MPI_STATUS_IGNORE);
}

}  // namespace

void ring_search(MPI_Comm comm, int dim, int k, QueryLists& mine, const LocalSearch& search) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int to = (rank + 1) % size, from = (rank + size - 1) % size;
  QueryLists visiting = std::move(mine), incoming;
  for (int step = 0; step < size; ++step) {
    // A local search failure (e.g. out of memory in an index) must not leave the others waiting
    // in the next exchange.
    agree_on(comm, [&] {
      search(visiting.size(), visiting.points.data(), visiting.ids.data(), k, visiting.dist2.data(), visiting.best.data());
    });
    if (size > 1) log().progress("kNN: blocks searched on this rank", step + 1, size);
    // After the last search the block goes home: one more hop in the same direction.
    if (size > 1) {
      pass_block(comm, to, from, dim, k, visiting, incoming);
      std::swap(visiting, incoming);
    }
  }
  mine = std::move(visiting);
}

}  // namespace velofield
