#include "core/gather.hpp"

#include <climits>

#include "core/error.hpp"

namespace velofield {

std::vector<double> gather_concat(MPI_Comm comm, const std::vector<double>& local) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  agree(comm, local.size() <= static_cast<size_t>(INT_MAX), "internal: a gathered vector passes 2^31 values on one rank");
  const int n = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  long long total = counts[0];
  for (int r = 1; r < size; ++r) {
    displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
    total += counts[static_cast<size_t>(r)];
  }
  if (total > INT_MAX) throw Error("internal: a gathered vector passes 2^31 values in all");
  std::vector<double> all(static_cast<size_t>(total));
  MPI_Allgatherv(local.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  return all;
}

}  // namespace velofield
