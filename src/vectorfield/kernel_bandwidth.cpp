#include "vectorfield/kernel_bandwidth.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/partition.hpp"

namespace velofield {

double kernel_bandwidth_beta(MPI_Comm comm, const std::vector<double>& ctrl, int64_t M, int64_t dim) {
  if (M < 2) throw Error("internal: the kernel bandwidth needs at least 2 control points");
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int64_t n_b = std::max<int64_t>(2, static_cast<int64_t>(std::floor(0.2 * static_cast<double>(M))));
  const int64_t k = n_b - 1;   // non-self neighbours
  BlockPartition part{M, size};
  const int64_t begin = part.begin(rank), end = part.end(rank);
  std::vector<double> row_sums(static_cast<size_t>(end - begin));
  std::vector<double> dist(static_cast<size_t>(M - 1));
  for (int64_t m = begin; m < end; ++m) {
    int64_t n = 0;
    for (int64_t o = 0; o < M; ++o) {
      if (o == m) continue;
      double d2 = 0;
      for (int64_t q = 0; q < dim; ++q) {
        const double diff = ctrl[static_cast<size_t>(m * dim + q)] - ctrl[static_cast<size_t>(o * dim + q)];
        d2 += diff * diff;
      }
      dist[static_cast<size_t>(n++)] = std::sqrt(d2);
    }
    std::nth_element(dist.begin(), dist.begin() + (k - 1), dist.end());
    std::sort(dist.begin(), dist.begin() + k);
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += dist[static_cast<size_t>(j)];
    row_sums[static_cast<size_t>(m - begin)] = s;
  }
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    counts[static_cast<size_t>(r)] = static_cast<int>(part.size(r));
    displs[static_cast<size_t>(r)] = static_cast<int>(part.begin(r));
  }
  std::vector<double> all(static_cast<size_t>(M));
  MPI_Allgatherv(row_sums.data(), counts[static_cast<size_t>(rank)], MPI_DOUBLE, all.data(), counts.data(),
                 displs.data(), MPI_DOUBLE, comm);
  double total = 0;
  for (double s : all) total += s;
  const double dbar = total / static_cast<double>(M * k);
  if (!(dbar > 0)) throw Error("internal: the control points coincide (mean neighbour distance 0)");
  const double h = std::sqrt(2.0) * dbar / 1.5;
  return 1.0 / (h * h);
}

}  // namespace velofield
