#pragma once
// Summaries of per-cell scores spread over ranks, computed so that the result does not depend on
// the rank count: sums are exact (fixed point), the median is the exact order statistic.
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace velofield {

struct ScoreSummary {
  int64_t count = 0;              // scores over all ranks
  double mean = 0, median = 0;    // NaN when count == 0
  double fraction_positive = 0;   // share of scores > 0
};

// Collective. Scores must lie in [-1, 1] (cosines and means of cosines).
ScoreSummary summarize_scores(const std::vector<double>& local_scores, MPI_Comm comm);

// Collective. The k-th smallest (0-based) of the union of every rank's values: a bisection on the
// order-preserving integer image of the doubles, 64 counting rounds, exact for any k < total.
double distributed_kth(const std::vector<double>& local_values, int64_t k, MPI_Comm comm);

// Exact sum of values in [-1, 1], independent of the order and grouping of additions: each value is
// rounded to a multiple of 2^-60 and accumulated as two int64 halves (valid up to 2^32 values).
class ExactSum {
 public:
  void add(double x);
  // Collective: sums the partial sums of every rank.
  void all_reduce(MPI_Comm comm);
  double value() const;
  int64_t count() const { return count_; }

 private:
  int64_t high_ = 0, low_ = 0, count_ = 0;
};

}  // namespace velofield
