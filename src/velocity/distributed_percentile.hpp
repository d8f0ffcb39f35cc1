#pragma once
// Per-gene percentiles over cells spread across ranks, exact and with numpy's default definition
// (method 'linear', as dynamo's np.percentile call uses): for n values and percent p,
// h = (n - 1) · (p / 100), the result interpolates the order statistics x[floor h] and x[floor h + 1]
// with numpy's own two-sided lerp (a + (b - a)·t below t = 1/2, b - (b - a)·(1 - t) from it on),
// and h >= n - 1 gives the maximum.
//
// The order statistics are found by a most-significant-digit radix selection on the
// order-preserving integer image of the doubles: rounds of a 256-bin histogram per gene,
// all-reduced, each fixing 8 more bits of the answer, until the bucket holding the answer has at
// most a couple of thousand values over all ranks; those are gathered and the two order statistics
// selected among them. Every rank ends with the same bits, whatever the number of ranks. Each rank
// also learns how many of its own values lie at or beyond the result, without another pass.
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace velofield {

// What the pass that computed the values knows of each gene's values, which lets the selection skip
// the leading bits every positive value shares (and the zeros below them).
struct PercentileHint {
  int64_t negative = 0, zero = 0;               // values < 0, == 0, over all ranks
  int64_t local_negative = 0, local_zero = 0;   // the same on this rank
  double min_positive = 0, max = 0;             // over all ranks (+inf / -inf when none)
};

struct PercentileResult {
  std::vector<double> value;               // per gene
  std::vector<int64_t> local_at_or_above;  // this rank's values >= value
  std::vector<int64_t> local_at_or_below;  // this rank's values <= value
};

// Collective. values: this rank's cells of `genes` genes, gene-major (values[g * cells + i]),
// finite; n_total: the number of cells over all ranks (> 0); percent in [0, 100]; hints: one per
// gene, or null.
PercentileResult distributed_percentile(MPI_Comm comm, int64_t genes, int64_t cells, const double* values, int64_t n_total,
                                        double percent, const PercentileHint* hints = nullptr);

// numpy's percentile of one array in memory (the definition above), for checks and for callers
// that hold every value.
double numpy_percentile(std::vector<double> values, double percent);

}  // namespace velofield
