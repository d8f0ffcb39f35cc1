#include "compare/velocity_consensus.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "evaluate/score_summary.hpp"
#include "evaluate/velocity_rows.hpp"

namespace velofield {

std::vector<uint8_t> comparison_genes(MPI_Comm comm, const std::vector<const Matrix*>& velocities, bool require_nonzero) {
  if (velocities.empty()) return {};
  const int64_t G = matrix_cols(*velocities.front());
  std::vector<uint8_t> genes(static_cast<size_t>(G), 1);
  std::vector<double> row(static_cast<size_t>(G));
  for (const Matrix* m : velocities) {
    // [0, G): some cell non-finite; [G, 2G): some cell nonzero. One reduction per method.
    std::vector<uint8_t> seen(static_cast<size_t>(2 * G), 0);
    const RowReader reader(*m);
    for (int64_t i = 0; i < reader.rows(); ++i) {
      reader.read(i, row.data());
      for (int64_t g = 0; g < G; ++g) {
        const double v = row[static_cast<size_t>(g)];
        if (!std::isfinite(v)) seen[static_cast<size_t>(g)] = 1;
        else if (v != 0) seen[static_cast<size_t>(G + g)] = 1;
      }
    }
    MPI_Allreduce(MPI_IN_PLACE, seen.data(), static_cast<int>(2 * G), MPI_UINT8_T, MPI_MAX, comm);
    for (int64_t g = 0; g < G; ++g)
      if (seen[static_cast<size_t>(g)] || (require_nonzero && !seen[static_cast<size_t>(G + g)])) genes[static_cast<size_t>(g)] = 0;
  }
  return genes;
}

std::vector<double> gene_rms(MPI_Comm comm, int64_t n_obs, const Matrix& velocity, const std::vector<uint8_t>& genes) {
  const int64_t G = matrix_cols(velocity);
  const RowReader reader(velocity);
  std::vector<double> row(static_cast<size_t>(G)), largest(static_cast<size_t>(G), 0.0);
  for (int64_t i = 0; i < reader.rows(); ++i) {
    reader.read(i, row.data());
    for (int64_t g = 0; g < G; ++g)
      if (genes[static_cast<size_t>(g)]) largest[static_cast<size_t>(g)] = std::max(largest[static_cast<size_t>(g)], std::fabs(row[static_cast<size_t>(g)]));
  }
  MPI_Allreduce(MPI_IN_PLACE, largest.data(), static_cast<int>(G), MPI_DOUBLE, MPI_MAX, comm);
  // (v / max)² in [0, 1] as a multiple of 2^-60, split into 30-bit halves summed as integers: the
  // sum is exact and independent of how the cells are split over ranks.
  std::vector<int64_t> sums(static_cast<size_t>(2 * G), 0);
  const double unit = std::ldexp(1.0, 60);
  for (int64_t i = 0; i < reader.rows(); ++i) {
    reader.read(i, row.data());
    for (int64_t g = 0; g < G; ++g) {
      const double top = largest[static_cast<size_t>(g)];
      if (!genes[static_cast<size_t>(g)] || !(top > 0)) continue;
      const double x = row[static_cast<size_t>(g)] / top;
      const int64_t q = std::llround(std::min(1.0, x * x) * unit);
      sums[static_cast<size_t>(2 * g)] += q >> 30;
      sums[static_cast<size_t>(2 * g + 1)] += q & ((int64_t{1} << 30) - 1);
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(2 * G), MPI_INT64_T, MPI_SUM, comm);
  std::vector<double> rms(static_cast<size_t>(G), 0.0);
  for (int64_t g = 0; g < G; ++g) {
    const double mean_square = (std::ldexp(static_cast<double>(sums[static_cast<size_t>(2 * g)]), -30) +
                                std::ldexp(static_cast<double>(sums[static_cast<size_t>(2 * g + 1)]), -60)) /
                               static_cast<double>(n_obs);
    rms[static_cast<size_t>(g)] = largest[static_cast<size_t>(g)] * std::sqrt(mean_square);
  }
  return rms;
}

std::vector<double> row_cosines(const DenseArray& a, const DenseArray& b) {
  const int64_t n = a.rows(), dim = a.row_stride();
  if (b.rows() != n || b.row_stride() != dim)
    throw Error("internal: projected velocities of different shapes compared");
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    CosineParts p;
    for (int64_t c = 0; c < dim; ++c)
      p.add(a.values.as_double(static_cast<size_t>(i * dim + c)), b.values.as_double(static_cast<size_t>(i * dim + c)));
    out[static_cast<size_t>(i)] = std::clamp(p.cosine(), -1.0, 1.0);
  }
  return out;
}

AgreementResult velocity_agreement(MPI_Comm comm, const std::vector<const DenseArray*>& projected) {
  const size_t M = projected.size();
  if (M < 2) throw Error("internal: agreement needs at least two methods");
  const size_t n = static_cast<size_t>(projected.front()->rows());
  AgreementResult r;
  r.per_cell.assign(n, 0.0);
  r.matrix.assign(M * M, 1.0);
  r.mean_matrix.assign(M * M, 1.0);
  std::vector<std::vector<double>> partner_sum(M, std::vector<double>(n, 0.0));
  for (size_t a = 0; a < M; ++a)
    for (size_t b = a + 1; b < M; ++b) {
      const std::vector<double> c = row_cosines(*projected[a], *projected[b]);
      const ScoreSummary s = summarize_scores(c, comm);
      r.matrix[a * M + b] = r.matrix[b * M + a] = s.median;
      r.mean_matrix[a * M + b] = r.mean_matrix[b * M + a] = s.mean;
      for (size_t i = 0; i < n; ++i) {
        r.per_cell[i] += c[i];
        partner_sum[a][i] += c[i];
        partner_sum[b][i] += c[i];
      }
    }
  const double pairs = static_cast<double>(M * (M - 1) / 2);
  for (double& v : r.per_cell) v /= pairs;
  r.weights.assign(M, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i) {
    double total = 0;
    for (size_t m = 0; m < M; ++m) {
      r.weights[m][i] = std::max(0.0, partner_sum[m][i] / static_cast<double>(M - 1));
      total += r.weights[m][i];
    }
    if (!(total > 0))
      for (size_t m = 0; m < M; ++m) r.weights[m][i] = 1.0;
  }
  return r;
}

DenseArray consensus_velocity(const std::vector<const Matrix*>& velocities, const std::vector<std::vector<double>>& scales,
                              const std::vector<std::vector<double>>& weights, const std::vector<uint8_t>& genes) {
  const int64_t G = static_cast<int64_t>(genes.size());
  const int64_t n = velocities.empty() ? 0 : matrix_rows(*velocities.front());
  DenseArray out = DenseArray::zeros({n, G}, DType::f32);
  float* o = out.values.data<float>();
  std::vector<RowReader> readers;
  for (const Matrix* m : velocities) readers.emplace_back(*m);
  std::vector<double> row(static_cast<size_t>(G)), sum(static_cast<size_t>(G));
  for (int64_t i = 0; i < n; ++i) {
    std::fill(sum.begin(), sum.end(), 0.0);
    double total = 0;
    for (size_t m = 0; m < readers.size(); ++m) {
      const double w = weights[m][static_cast<size_t>(i)];
      if (w == 0) continue;
      total += w;
      readers[m].read(i, row.data());
      for (int64_t g = 0; g < G; ++g)
        if (genes[static_cast<size_t>(g)] && scales[m][static_cast<size_t>(g)] > 0)
          sum[static_cast<size_t>(g)] += w * row[static_cast<size_t>(g)] / scales[m][static_cast<size_t>(g)];
    }
    for (int64_t g = 0; g < G; ++g)
      if (genes[static_cast<size_t>(g)] && total > 0) o[i * G + g] = static_cast<float>(sum[static_cast<size_t>(g)] / total);
  }
  return out;
}

}  // namespace velofield
