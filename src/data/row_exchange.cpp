#include "data/row_exchange.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace velofield {

namespace {

template <class T>
std::vector<T> fetch_rows_of(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                             int64_t width, const std::function<void(int64_t, T*)>& pack, MPI_Datatype type) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  // `needed` is sorted, so the requests to each owner are contiguous in it.
  std::vector<int> send_counts(static_cast<size_t>(size), 0), recv_counts(static_cast<size_t>(size), 0);
  for (int64_t g : needed) send_counts[static_cast<size_t>(partition.owner(g))]++;
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm);
  std::vector<int> send_displs(static_cast<size_t>(size), 0), recv_displs(static_cast<size_t>(size), 0);
  for (int r = 1; r < size; ++r) {
    send_displs[static_cast<size_t>(r)] = send_displs[static_cast<size_t>(r - 1)] + send_counts[static_cast<size_t>(r - 1)];
    recv_displs[static_cast<size_t>(r)] = recv_displs[static_cast<size_t>(r - 1)] + recv_counts[static_cast<size_t>(r - 1)];
  }
  const int64_t n_requests = static_cast<int64_t>(recv_displs.back()) + recv_counts.back();
  std::vector<int64_t> requests(static_cast<size_t>(n_requests));
  MPI_Alltoallv(needed.data(), send_counts.data(), send_displs.data(), MPI_INT64_T, requests.data(), recv_counts.data(),
                recv_displs.data(), MPI_INT64_T, comm);
  // MPI counts are int: a rank whose answer would not fit makes every rank stop with the same error
  // (the caller's blocks bound what one rank asks for, not what all ranks ask of one).
  const int64_t biggest = std::max(n_requests, static_cast<int64_t>(needed.size())) * width;
  agree(comm, biggest <= INT32_MAX,
        "internal: one row exchange would move " + std::to_string(biggest) + " values (more than 2^31); use smaller blocks");
  // Answer: the requested rows, in request order.
  const int64_t first = partition.begin(rank);
  std::vector<T> answer(static_cast<size_t>(n_requests * width));
  for (int64_t q = 0; q < n_requests; ++q) pack(requests[static_cast<size_t>(q)] - first, answer.data() + q * width);
  std::vector<int> row_send(static_cast<size_t>(size)), row_send_displs(static_cast<size_t>(size)),
      row_recv(static_cast<size_t>(size)), row_recv_displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    const size_t ur = static_cast<size_t>(r);
    row_send[ur] = static_cast<int>(recv_counts[ur] * width);
    row_send_displs[ur] = static_cast<int>(recv_displs[ur] * width);
    row_recv[ur] = static_cast<int>(send_counts[ur] * width);
    row_recv_displs[ur] = static_cast<int>(send_displs[ur] * width);
  }
  std::vector<T> rows(static_cast<size_t>(static_cast<int64_t>(needed.size()) * width));
  MPI_Alltoallv(answer.data(), row_send.data(), row_send_displs.data(), type, rows.data(), row_recv.data(),
                row_recv_displs.data(), type, comm);
  return rows;
}

}  // namespace

std::vector<float> fetch_rows(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                              int64_t width, const std::function<void(int64_t, float*)>& pack) {
  return fetch_rows_of<float>(comm, partition, needed, width, pack, MPI_FLOAT);
}

std::vector<double> fetch_rows(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                               int64_t width, const std::function<void(int64_t, double*)>& pack) {
  return fetch_rows_of<double>(comm, partition, needed, width, pack, MPI_DOUBLE);
}

std::vector<int64_t> fetch_rows(MPI_Comm comm, const BlockPartition& partition, const std::vector<int64_t>& needed,
                                int64_t width, const std::function<void(int64_t, int64_t*)>& pack) {
  return fetch_rows_of<int64_t>(comm, partition, needed, width, pack, MPI_INT64_T);
}

}  // namespace velofield
