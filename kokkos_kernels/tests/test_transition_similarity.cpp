// transition_similarity() against dynamo's formulas written out naively (explicit transforms,
// explicit centring, two passes), for every transform and both measures, with neighbours in the
// rank's table and in the halo, plus the cases dynamo special-cases: a velocity summing to 0, the
// cell itself, a constant displacement.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "transition_similarity.hpp"

using namespace velofield::kernels;

namespace {

double sgn_sqrt(double x) { return x < 0 ? -std::sqrt(-x) : std::sqrt(x); }
double sgn_log1p(double x) { return x < 0 ? -std::log1p(-x) : std::log1p(x); }

// dynamo's similarity for one (cell, neighbour) pair, spelled out.
double reference_similarity(const std::vector<double>& xi, const std::vector<double>& xj, const std::vector<double>& v,
                            SimilarityTransform t, SimilarityMeasure m) {
  const size_t n = xi.size();
  double vsum = 0;
  for (double x : v) vsum += x;
  if (vsum == 0) return 0;
  std::vector<double> a(n), b(n);
  for (size_t g = 0; g < n; ++g) {
    const double d = xj[g] - xi[g];
    switch (t) {
      case SimilarityTransform::sqrt: a[g] = sgn_sqrt(v[g]); b[g] = sgn_sqrt(d); break;
      case SimilarityTransform::log: a[g] = sgn_log1p(v[g]); b[g] = sgn_log1p(d); break;
      case SimilarityTransform::logratio:
        a[g] = std::log1p(std::fabs(xi[g] + v[g])) - std::log1p(std::fabs(xi[g]));
        b[g] = std::log1p(std::fabs(xj[g])) - std::log1p(std::fabs(xi[g]));
        break;
      case SimilarityTransform::linear: a[g] = v[g]; b[g] = d; break;
    }
  }
  if (m == SimilarityMeasure::pearson) {
    double ma = 0, mb = 0;
    for (size_t g = 0; g < n; ++g) { ma += a[g]; mb += b[g]; }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    for (size_t g = 0; g < n; ++g) { a[g] -= ma; b[g] -= mb; }
  }
  double dot = 0, na = 0, nb = 0;
  for (size_t g = 0; g < n; ++g) { dot += a[g] * b[g]; na += a[g] * a[g]; nb += b[g] * b[g]; }
  if (na == 0 || nb == 0) return 0;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

struct Fixture {
  int64_t cells = 40, genes = 37, n_rows = 60;   // 37: not a multiple of the host lane width
  std::vector<double> rows, velocity;
  std::vector<int64_t> cell_row, offsets{0}, neighbor;

  Fixture() {
    uint64_t state = 99;
    auto uniform = [&] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<double>(state >> 11) / 9007199254740992.0;
    };
    rows.resize(static_cast<size_t>(n_rows * genes));
    for (auto& x : rows) x = uniform() < 0.3 ? 0.0 : 5 * uniform();
    velocity.resize(static_cast<size_t>(cells * genes));
    for (auto& x : velocity) x = uniform() - 0.45;
    for (int64_t i = 0; i < cells; ++i) {
      cell_row.push_back(i);
      neighbor.push_back(i);   // the cell itself: similarity 0
      for (int k = 0; k < 12; ++k) neighbor.push_back(static_cast<int64_t>(uniform() * static_cast<double>(n_rows)));
      offsets.push_back(static_cast<int64_t>(neighbor.size()));
    }
    // Cell 3: velocity summing to exactly 0 (dynamo skips it).
    for (int64_t g = 0; g < genes; ++g) velocity[static_cast<size_t>(3 * genes + g)] = g % 2 ? 0.25 : -0.25;
    velocity[static_cast<size_t>(3 * genes + genes - 1)] = 0;
    // Row 50 = row of cell 5 plus a constant: a constant displacement (pearson: no direction).
    // Row 5 holds multiples of 1/8, so that the difference is exactly 2 in every gene.
    for (int64_t g = 0; g < genes; ++g) rows[static_cast<size_t>(5 * genes + g)] = static_cast<double>((g * 7) % 40) / 8;
    for (int64_t g = 0; g < genes; ++g) rows[static_cast<size_t>(50 * genes + g)] = rows[static_cast<size_t>(5 * genes + g)] + 2.0;
    neighbor[static_cast<size_t>(offsets[5] + 1)] = 50;
  }

  // The entry of cell 5 whose displacement is the same in every gene.
  int64_t constant_entry() const { return offsets[5] + 1; }
  std::vector<double> row(int64_t r) const {
    return {rows.begin() + r * genes, rows.begin() + (r + 1) * genes};
  }
  std::vector<double> vel(int64_t i) const {
    return {velocity.begin() + i * genes, velocity.begin() + (i + 1) * genes};
  }
  template <class Value>
  std::vector<double> run(SimilarityTransform t, SimilarityMeasure m) const {
    std::vector<Value> r(rows.begin(), rows.end()), v(velocity.begin(), velocity.end());
    SimilarityInput<Value> in;
    in.cells = cells;
    in.genes = genes;
    // The first `cells` rows are the rank's table, the rest the halo (row indices go on across).
    in.n_rows = cells;
    in.rows = r.data();
    in.n_halo = n_rows - cells;
    in.halo = r.data() + cells * genes;
    in.velocity = v.data();
    in.cell_row = cell_row.data();
    in.offsets = offsets.data();
    in.neighbor_row = neighbor.data();
    std::vector<double> out(neighbor.size(), -7);
    transition_similarity(in, t, m, out.data());
    return out;
  }
};

}  // namespace

TEST(TransitionSimilarity, MatchesDynamoFormulasForEveryTransformAndMeasure) {
  Fixture f;
  for (auto t : {SimilarityTransform::sqrt, SimilarityTransform::log, SimilarityTransform::logratio, SimilarityTransform::linear}) {
    for (auto m : {SimilarityMeasure::pearson, SimilarityMeasure::cosine}) {
      const auto got = f.run<double>(t, m);
      int nonzero = 0;
      for (int64_t i = 0; i < f.cells; ++i) {
        for (int64_t k = f.offsets[i]; k < f.offsets[i + 1]; ++k) {
          if (k == f.constant_entry()) continue;   // rounding noise in the naive formula; see ZeroCases
          const double want = reference_similarity(f.row(i), f.row(f.neighbor[k]), f.vel(i), t, m);
          ASSERT_NEAR(got[k], want, 1e-12) << "transform " << int(t) << " measure " << int(m) << " cell " << i << " entry " << k;
          nonzero += want != 0;
        }
      }
      EXPECT_GT(nonzero, 400);   // the fixture exercises real correlations, not only the zero cases
    }
  }
}

TEST(TransitionSimilarity, ZeroCasesFollowDynamo) {
  Fixture f;
  const auto p = f.run<double>(SimilarityTransform::sqrt, SimilarityMeasure::pearson);
  for (int64_t k = f.offsets[3]; k < f.offsets[4]; ++k) EXPECT_EQ(p[k], 0) << "velocity sums to 0: skipped";
  for (int64_t i = 0; i < f.cells; ++i) EXPECT_EQ(p[f.offsets[i]], 0) << "the cell itself";
  EXPECT_EQ(p[f.constant_entry()], 0) << "a constant displacement has no pearson direction (exactly, not rounding noise)";
  // Cosine does see it: sqrt(2) in every gene, correlated with v~.
  const auto c = f.run<double>(SimilarityTransform::sqrt, SimilarityMeasure::cosine);
  EXPECT_NE(c[f.constant_entry()], 0);
  // Both are correlations.
  for (double x : p) EXPECT_LE(std::fabs(x), 1 + 1e-12);
}

TEST(TransitionSimilarity, FloatInputsAgreeWithDoubleToFloatPrecision) {
  Fixture f;
  const auto d = f.run<double>(SimilarityTransform::sqrt, SimilarityMeasure::pearson);
  const auto s = f.run<float>(SimilarityTransform::sqrt, SimilarityMeasure::pearson);
  double worst = 0;
  for (size_t k = 0; k < d.size(); ++k)
    if (static_cast<int64_t>(k) != f.constant_entry())   // constant only before rounding to float
      worst = std::max(worst, std::fabs(d[k] - s[k]));
  EXPECT_LT(worst, 1e-5);
  EXPECT_GT(worst, 0);   // the float path really ran on rounded inputs
}
