#pragma once
// A dynamic work queue shared by the ranks of a communicator: items 0 .. n−1 of a round are handed
// out one at a time, first come first served, each to exactly one rank. Items are taken in index
// order, so a caller that numbers its items most expensive first gets longest-processing-time-first
// scheduling, and the ranks finish a round within about one item of each other.
//
// Why one-sided: the counter lives in an MPI window on rank 0 and is advanced with MPI_Fetch_and_op,
// so no rank has to sit in a receive loop serving requests (a master rank would idle or would have
// to poll between its own items). Caveat: where the network has no hardware atomics (OpenMPI's
// osc/pt2pt), a passive-target operation on rank 0's counter only progresses when rank 0 itself
// enters MPI, so a rank asking for work can wait until rank 0 finishes its current item. Within one
// node OpenMPI uses osc/sm (shared-memory atomics) and nothing waits.
#include <mpi.h>

#include <cstdint>

namespace velofield {

class WorkQueue {
 public:
  // Collective over comm (MPI_Win_allocate). The queue starts with no items.
  explicit WorkQueue(MPI_Comm comm);
  ~WorkQueue();   // collective (MPI_Win_free)
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Collective: starts a new round of n_items items (every rank passes the same n_items). Every
  // rank must have stopped taking items of the previous round (next() returned −1) or abandoned it.
  void reset(int64_t n_items);
  // The next item of the round for this rank, or −1 when all are taken. Not collective.
  int64_t next();

 private:
  MPI_Comm comm_;
  MPI_Win win_ = MPI_WIN_NULL;
  int64_t* counter_ = nullptr;   // rank 0's window memory (one int64), unused elsewhere
  int64_t n_items_ = 0;
};

}  // namespace velofield
