#include "neighbors/umap_layout.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "neighbors/spectral_layout.hpp"
#include "umap_epoch.hpp"

namespace velofield {

namespace {

double keyed_normal(uint64_t seed, int64_t cell, int d) {
  // Box-Muller from two keyed uniforms in (0, 1].
  const double u1 = (static_cast<double>(kernels::umap_random(seed, -2, cell, 2 * d) >> 11) + 1.0) / 9007199254740992.0;
  const double u2 = static_cast<double>(kernels::umap_random(seed, -2, cell, 2 * d + 1) >> 11) / 9007199254740992.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// umap-learn: coordinates scaled so the largest |value| is 10, float32, plus N(0, 1e-4) noise,
// then each dimension mapped onto [0, 10].
std::vector<float> scaled_start(MPI_Comm comm, const std::vector<double>& coords, int64_t n_local, int dim, int64_t first,
                                uint64_t seed) {
  double biggest = 0;
  for (double v : coords) biggest = std::max(biggest, std::fabs(v));
  MPI_Allreduce(MPI_IN_PLACE, &biggest, 1, MPI_DOUBLE, MPI_MAX, comm);
  const double expansion = biggest > 0 ? 10.0 / biggest : 1.0;
  std::vector<float> x(coords.size());
  std::vector<double> lo(static_cast<size_t>(dim), std::numeric_limits<double>::infinity()),
      hi(static_cast<size_t>(dim), -std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < n_local; ++i)
    for (int d = 0; d < dim; ++d) {
      const size_t e = static_cast<size_t>(i * dim + d);
      x[e] = static_cast<float>(coords[e] * expansion) + static_cast<float>(1e-4 * keyed_normal(seed, first + i, d));
      lo[static_cast<size_t>(d)] = std::min(lo[static_cast<size_t>(d)], static_cast<double>(x[e]));
      hi[static_cast<size_t>(d)] = std::max(hi[static_cast<size_t>(d)], static_cast<double>(x[e]));
    }
  MPI_Allreduce(MPI_IN_PLACE, lo.data(), dim, MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(MPI_IN_PLACE, hi.data(), dim, MPI_DOUBLE, MPI_MAX, comm);
  for (int64_t i = 0; i < n_local; ++i)
    for (int d = 0; d < dim; ++d) {
      const size_t e = static_cast<size_t>(i * dim + d);
      const double range = hi[static_cast<size_t>(d)] - lo[static_cast<size_t>(d)];
      x[e] = static_cast<float>(range > 0 ? 10.0 * (x[e] - lo[static_cast<size_t>(d)]) / range : 0.0);
    }
  return x;
}

int checked(int64_t v) {
  if (v > INT32_MAX) throw Error("umap: an embedding of more than 2^31 values cannot be exchanged in one call");
  return static_cast<int>(v);
}

}  // namespace

UmapResult umap_layout(MPI_Comm comm, const BlockPartition& partition, const DistMatrix& graph,
                       const std::vector<double>& basis_local, int basis_dim, const UmapOptions& options) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const int dim = options.n_components;
  const int64_t n = partition.total, n_local = partition.size(rank), first = partition.begin(rank);
  UmapResult result;
  result.curve = fit_umap_curve(options.spread, options.min_dist);
  result.n_epochs = options.n_epochs > 0 ? options.n_epochs : (n <= 10000 ? 500 : 200);

  // Prune edges below max / n_epochs (they would be sampled less than once).
  std::vector<int64_t> indptr, cols;
  std::vector<double> weights;
  graph.local_csr(indptr, cols, weights);
  double w_max = 0;
  for (double w : weights) w_max = std::max(w_max, w);
  MPI_Allreduce(MPI_IN_PLACE, &w_max, 1, MPI_DOUBLE, MPI_MAX, comm);
  std::vector<int64_t> p_ptr{0}, p_cols;
  std::vector<double> p_w, epochs_per_sample;
  for (int64_t i = 0; i < n_local; ++i) {
    for (int64_t k = indptr[static_cast<size_t>(i)]; k < indptr[static_cast<size_t>(i + 1)]; ++k) {
      const double w = weights[static_cast<size_t>(k)];
      const int64_t c = cols[static_cast<size_t>(k)];
      if (w < w_max / result.n_epochs || w <= 0 || c == first + i) continue;
      p_cols.push_back(c);
      p_w.push_back(w);
      epochs_per_sample.push_back(w_max / w);
    }
    p_ptr.push_back(static_cast<int64_t>(p_cols.size()));
  }

  // Start.
  const double t_start = MPI_Wtime();
  std::vector<double> start;
  result.init = options.init;
  if (options.init == "spectral") {
    const DistMatrix pruned = DistMatrix::from_local_csr(comm, n_local, n, p_ptr, p_cols, p_w, DType::f32);
    SpectralLayout s = spectral_layout(comm, pruned, dim, options.seed);
    if (s.ok) {
      start = std::move(s.coords);
    } else {
      log().warn("umap: no spectral initialisation (" + s.why_not + "); starting from the PCA coordinates instead");
      result.init = "pca";
    }
  }
  if (result.init == "pca") {
    if (basis_dim < dim) throw Error("umap: the PCA initialisation needs at least " + std::to_string(dim) + " basis columns");
    start.resize(static_cast<size_t>(n_local * dim));
    for (int64_t i = 0; i < n_local; ++i)
      for (int d = 0; d < dim; ++d) start[static_cast<size_t>(i * dim + d)] = basis_local[static_cast<size_t>(i * basis_dim + d)];
  }
  result.embedding = scaled_start(comm, start, n_local, dim, first, options.seed);
  const double t_epochs = MPI_Wtime();
  log().info(cat("umap: ", result.init, " initialisation in ", t_epochs - t_start, " s"));

  // Epochs.
  kernels::UmapEpochs epochs(n_local, p_ptr.data(), p_cols.data(), epochs_per_sample.data(), options.negative_sample_rate);
  const int size = partition.ranks;
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    counts[static_cast<size_t>(r)] = checked(partition.size(r) * dim);
    displs[static_cast<size_t>(r)] = checked(partition.begin(r) * dim);
  }
  std::vector<float> snapshot(static_cast<size_t>(n * dim));
  kernels::UmapEpochParams p;
  p.a = result.curve.a;
  p.b = result.curve.b;
  p.gamma = options.repulsion_strength;
  p.seed = options.seed;
  p.n_vertices = n;
  p.first_vertex = first;
  p.dim = dim;
  for (int e = 0; e < result.n_epochs; ++e) {
    if (e % options.sync_every == 0)
      MPI_Allgatherv(result.embedding.data(), counts[static_cast<size_t>(rank)], MPI_FLOAT, snapshot.data(), counts.data(),
                     displs.data(), MPI_FLOAT, comm);
    p.epoch = e;
    p.alpha = options.learning_rate * (1.0 - static_cast<double>(e) / result.n_epochs);
    epochs.run(p, snapshot.data(), result.embedding.data());
    log().progress("umap: epochs", e + 1, result.n_epochs);
  }
  log().info(cat("umap: ", result.n_epochs, " epochs in ", MPI_Wtime() - t_epochs, " s"));
  return result;
}

}  // namespace velofield
