// WorkQueue: every item of a round is taken by exactly one rank, whatever the rank count (including
// more ranks than items and an empty round), rounds reuse the queue, and an exhausted queue stays
// exhausted.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <vector>

#include "core/work_queue.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

// Takes items until the round is exhausted; returns how often each item was taken, summed over ranks.
std::vector<int> take_all(WorkQueue& q, int64_t n, std::vector<int64_t>* mine_out = nullptr) {
  q.reset(n);
  std::vector<int64_t> mine;
  for (int64_t i = q.next(); i >= 0; i = q.next()) {
    mine.push_back(i);
    // A little uneven work so ranks interleave rather than one rank draining the queue.
    volatile double x = 0;
    for (int k = 0; k < 2000 * (1 + static_cast<int>(i % 3)); ++k) x = x + k;
  }
  EXPECT_EQ(q.next(), -1);   // stays exhausted
  EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
  std::vector<int> count(static_cast<size_t>(n), 0);
  for (int64_t i : mine) {
    EXPECT_LT(i, n);
    if (i < n) ++count[static_cast<size_t>(i)];
  }
  MPI_Allreduce(MPI_IN_PLACE, count.data(), static_cast<int>(n), MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (mine_out) *mine_out = mine;
  return count;
}

}  // namespace

TEST(WorkQueue, EveryItemIsTakenExactlyOnce) {
  WorkQueue q(MPI_COMM_WORLD);
  // Rounds of 0, 1, 2 (fewer items than 3 ranks), a rank-count-sized and a large one, then 0 again.
  for (int64_t n : {0, 1, 2, 3, 257, 0, 5}) {
    const std::vector<int> count = take_all(q, n);
    ASSERT_EQ(count.size(), static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(count[static_cast<size_t>(i)], 1) << "item " << i << " of " << n;
  }
}

TEST(WorkQueue, ItemsTakenPerRankAddUp) {
  WorkQueue q(MPI_COMM_WORLD);
  std::vector<int64_t> mine;
  const int64_t n = 1000;
  take_all(q, n, &mine);
  long long total = static_cast<long long>(mine.size()), sum = 0;
  for (int64_t i : mine) sum += i;
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(WorkQueue, TwoQueuesAreIndependent) {
  WorkQueue a(MPI_COMM_WORLD), b(MPI_COMM_WORLD);
  a.reset(4);
  b.reset(4);
  // Rank 0 drains a; b is untouched by that.
  if (test::rank() == 0) {
    for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(a.next(), k);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(a.next(), -1);
  std::vector<int> count(4, 0);
  for (int64_t i = b.next(); i >= 0; i = b.next()) ++count[static_cast<size_t>(i)];
  MPI_Allreduce(MPI_IN_PLACE, count.data(), 4, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(count, std::vector<int>(4, 1));
}
