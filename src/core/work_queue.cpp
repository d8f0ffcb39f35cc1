#include "core/work_queue.hpp"

#include "core/error.hpp"

namespace velofield {

WorkQueue::WorkQueue(MPI_Comm comm) : comm_(comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const MPI_Aint bytes = rank == 0 ? static_cast<MPI_Aint>(sizeof(int64_t)) : 0;
  MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, comm, &counter_, &win_);
  if (rank == 0) *counter_ = 0;
  MPI_Barrier(comm);   // the counter is initialised before any rank locks the window
  // One passive-target epoch for the queue's whole life: next() is a single atomic plus a flush.
  MPI_Win_lock_all(MPI_MODE_NOCHECK, win_);
}

WorkQueue::~WorkQueue() {
  MPI_Win_unlock_all(win_);
  MPI_Win_free(&win_);
}

void WorkQueue::reset(int64_t n_items) {
  if (n_items < 0) throw Error("internal: a work queue round of " + std::to_string(n_items) + " items");
  // Nobody may still be fetching from the previous round when the counter goes back to 0 ...
  MPI_Barrier(comm_);
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  if (rank == 0) {
    // An atomic replace (not a local store) so it is ordered with the other ranks' Fetch_and_op.
    const int64_t zero = 0;
    MPI_Accumulate(&zero, 1, MPI_INT64_T, 0, 0, 1, MPI_INT64_T, MPI_REPLACE, win_);
    MPI_Win_flush(0, win_);
  }
  n_items_ = n_items;
  // ... and nobody takes an item of the new round before it is at 0.
  MPI_Barrier(comm_);
}

int64_t WorkQueue::next() {
  if (n_items_ == 0) return -1;
  const int64_t one = 1;
  int64_t taken = 0;
  MPI_Fetch_and_op(&one, &taken, MPI_INT64_T, 0, 0, MPI_SUM, win_);
  MPI_Win_flush(0, win_);
  return taken < n_items_ ? taken : -1;
}

}  // namespace velofield
