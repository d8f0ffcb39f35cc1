#include "neighbors/knn_graph.hpp"

namespace velofield {

int64_t KnnPoints::first() const {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return partition.begin(rank);
}

}  // namespace velofield
