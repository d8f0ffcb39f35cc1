#pragma once
// The per-gene reductions of dynamo's steady-state velocity fit (stochastic GMM and deterministic
// OLS) over one rank's cells, on a block of genes stored gene-major (x[g * cells + i]).
// Kokkos-free, so that the velocity code outside kokkos_kernels/ does not compile Kokkos; the
// functors are in steady_state_block_functors.hpp.
//
// The order of work: one pass over s and u of every cell (extreme scores, and the all-cell sums of
// the goodness of fit), the radix selection of the score percentile (passes over the scores only),
// one pass that lists each gene's extreme cells with their s and u, and then the moment sums over
// those listed cells alone (about 5% of them) with their second moments.
//
// Every result is independent of how the cells are split into ranks and chunks: maxima and
// counts trivially, sums because they are accumulated in fixed point (each term scaled by a power
// of two chosen from a global bound, truncated to 2^-60 of that bound and added as two int64
// halves), so integer addition makes them associative. The caller all-reduces the integers and
// decodes them (fixed_point_value()).
#include <cstdint>

namespace velofield::kernels {

// One block of genes of one rank's cells.
struct MomentBlock {
  int64_t genes = 0, cells = 0;
  const double* s = nullptr;   // M_s
  const double* u = nullptr;   // M_u
};

// dynamo's extreme score per cell, q = s / norm_s + u / norm_u (norm = max(max over cells, 1e-3)),
// written gene-major to q; over all cells, the fixed-point sums of u², u·s, s² and u (terms 0-3,
// scaled by scales[g * 4 + t]) into sums (genes × 8: hi, lo per term), from which the goodness of fit
// of any slope follows; and each gene's ScoreRange, which lets the percentile selection skip the
// leading bits every positive score shares.
constexpr int kScoreTerms = 4;
struct ScoreRange {
  int64_t negative = 0, zero = 0;   // scores < 0, == 0
  double min_positive = 0;          // smallest score > 0 (+inf when none)
  double max = 0;                   // largest score (-inf when none)
};
void extreme_scores(const MomentBlock& block, const double* norm_s, const double* norm_u, const double* scales, double* q,
                    int64_t* sums, ScoreRange* ranges);

// Order-preserving map of a double onto an unsigned integer (0.0 and -0.0 map to the same key),
// and back: a radix selection over keys is a selection over values.
uint64_t score_key(double x);
double score_of_key(uint64_t key);

// One round of a most-significant-digit radix selection: for every gene, counts the keys of q
// whose top prefix_bits[g] bits equal those of prefix[g], by their next min(kRadixBits, 64 - bits)
// bits. A gene with prefix_bits outside [0, 64) is skipped (its bins are 0).
// histogram: genes × kRadixBins, overwritten.
constexpr int kRadixBits = 8;
constexpr int kRadixBins = 1 << kRadixBits;
void score_radix_histogram(int64_t genes, int64_t cells, const double* q, const uint64_t* prefix, const int* prefix_bits,
                           int64_t* histogram);

// The end of a radix selection: for every gene, the smallest key of q above the bucket the
// selection narrowed down to (the keys whose top prefix_bits[g] bits equal prefix[g]'s; UINT64_MAX
// if none) into min_above[g]; and, when `values` is not null, the bucket's values, gene after gene
// (in no particular order within a gene), where counts[g] is the bucket's size on this rank (the
// last radix round's local count; 0 to leave a gene out).
void score_bucket(int64_t genes, int64_t cells, const double* q, const uint64_t* prefix, const int* prefix_bits,
                  const int64_t* counts, uint64_t* min_above, double* values);

// A gene's extreme cells: q <= lower (if use_lower) or q >= upper (if use_upper).
struct ExtremeTails {
  double lower = 0, upper = 0;
  int use_lower = 0, use_upper = 1;
};

// Lists each gene's extreme cells, gene after gene (gene g's at the sum of the counts before it, in
// no particular order within a gene): their local indices and their s and u. counts[g]: how many
// this rank has (known from the percentile selection, so one pass does it).
void extreme_cells(const MomentBlock& block, const double* q, const ExtremeTails* tails, const int64_t* counts, int64_t* cells_out,
                   double* s_out, double* u_out);

// The extreme cells of a block of genes, gene after gene: gene g's are [offsets[g], offsets[g + 1]).
struct ExtremeBlock {
  int64_t genes = 0;
  const int64_t* offsets = nullptr;
  const double* s = nullptr;
  const double* u = nullptr;
  const double* ss = nullptr;   // M_ss (stochastic passes only)
  const double* us = nullptr;   // M_us
};

// The sums over the extreme cells; with y1 = u, x1 = s, y2 = u + 2 us, x2 = 2 ss - s:
//   gmm_moments      y1 x1, x1², y2 x2, x2², y1, x1, y2, x2       (terms 0-7)
//   ols_moments      y1 x1, x1²                                   (terms 0, 1)
//   residual_spread  (y1 - k1 x1 - c1)², (y2 - k2 x2 - c2)²       (the residuals' spread about their means)
// The sums of y and x give the residuals' means (e = y - k x is linear), so the fit needs no
// separate pass for them.
enum class FitPass : int { gmm_moments = 0, ols_moments = 1, residual_spread = 2 };
constexpr int kFitTerms = 8;
constexpr int kFitSumWidth = 2 * kFitTerms;   // hi and lo halves of each term, per gene

struct FitGeneParams {
  double k1 = 0, k2 = 0;          // residual_spread: the slopes
  double c1 = 0, c2 = 0;          // residual_spread: the residuals' means
  double scale[kFitTerms] = {};   // 2^(60 - e_t): term t / 2^e_t lies in (-1/2, 1/2)
};

// sums: genes × kFitSumWidth, overwritten with this rank's fixed-point partial sums.
void steady_state_sums(const ExtremeBlock& block, FitPass pass, const FitGeneParams* params, int64_t* sums);

// The scale exponent for terms bounded by |term| <= bound (a bound every rank computes alike):
// the smallest e with bound < 2^(e-1), clamped so that 2^(60 - e) stays a normal double.
int fixed_point_exponent(double bound);
double fixed_point_scale(int exponent);   // 2^(60 - exponent)
// The sum a (hi, lo) pair holds, for terms that were scaled by fixed_point_scale(exponent).
double fixed_point_value(int64_t hi, int64_t lo, int exponent);

}  // namespace velofield::kernels
