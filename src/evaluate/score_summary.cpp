#include "evaluate/score_summary.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace velofield {

namespace {
// Maps doubles to unsigned integers with the same order (negative values: all bits flipped;
// positive: sign bit set), so a bisection over integers is a bisection over values.
uint64_t order_key(double x) {
  if (x == 0) x = 0.0;   // -0.0 and 0.0 are the same value
  uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits >> 63) ? ~bits : bits | 0x8000000000000000ULL;
}

double from_order_key(uint64_t key) {
  const uint64_t bits = (key >> 63) ? key & 0x7fffffffffffffffULL : ~key;
  double x = 0;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
}  // namespace

void ExactSum::add(double x) {
  const int64_t v = static_cast<int64_t>(std::llround(std::ldexp(x, 60)));
  high_ += v >> 30;                 // arithmetic shift: floor(v / 2^30)
  low_ += v & ((int64_t{1} << 30) - 1);
  ++count_;
}

void ExactSum::all_reduce(MPI_Comm comm) {
  int64_t parts[3] = {high_, low_, count_};
  MPI_Allreduce(MPI_IN_PLACE, parts, 3, MPI_INT64_T, MPI_SUM, comm);
  high_ = parts[0];
  low_ = parts[1];
  count_ = parts[2];
}

double ExactSum::value() const {
  // Both halves are exact integers; the conversion below is the only rounding.
  const long double total = std::ldexp(static_cast<long double>(high_), -30) + std::ldexp(static_cast<long double>(low_), -60);
  return static_cast<double>(total);
}

double distributed_kth(const std::vector<double>& local_values, int64_t k, MPI_Comm comm) {
  std::vector<uint64_t> keys(local_values.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = order_key(local_values[i]);
  // Smallest key K with #(keys <= K) >= k + 1.
  uint64_t lo = 0, hi = ~uint64_t{0};
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    int64_t count = 0;
    for (uint64_t key : keys) count += key <= mid;
    MPI_Allreduce(MPI_IN_PLACE, &count, 1, MPI_INT64_T, MPI_SUM, comm);
    if (count >= k + 1) hi = mid;
    else lo = mid + 1;
  }
  return from_order_key(lo);
}

ScoreSummary summarize_scores(const std::vector<double>& local_scores, MPI_Comm comm) {
  ScoreSummary s;
  ExactSum sum;
  int64_t positive = 0;
  for (double x : local_scores) {
    sum.add(x);
    positive += x > 0;
  }
  sum.all_reduce(comm);
  MPI_Allreduce(MPI_IN_PLACE, &positive, 1, MPI_INT64_T, MPI_SUM, comm);
  s.count = sum.count();
  if (s.count == 0) {
    s.mean = s.median = s.fraction_positive = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  s.mean = sum.value() / static_cast<double>(s.count);
  s.fraction_positive = static_cast<double>(positive) / static_cast<double>(s.count);
  // numpy's median: the middle value, or the mean of the two middle values.
  const int64_t half = s.count / 2;
  if (s.count % 2 == 1) {
    s.median = distributed_kth(local_scores, half, comm);
  } else {
    s.median = 0.5 * (distributed_kth(local_scores, half - 1, comm) + distributed_kth(local_scores, half, comm));
  }
  return s;
}

}  // namespace velofield
