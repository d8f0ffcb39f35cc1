#pragma once
// Shared by the perturbation tests: running the stage with a few keys, a small synthetic data set
// with a known PCA field (for dense references and bad inputs), and collective helpers.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "perturbation/perturbation_stage.hpp"
#include "simulate/counter_rng.hpp"
#include "test_support.hpp"
#include "transition_fixture.hpp"

namespace velofield::test {

inline void run_perturbation(Dataset& d, const std::map<std::string, std::string>& keys) {
  static const Stage stage = perturbation_stage();
  Config c;
  for (const auto& [k, v] : keys) c.set("perturbation", k, v);
  StageConfig sc(c, "perturbation", stage.keys);
  stage.run(d, sc);
}

inline void measured(const std::string& line) {
  if (rank() == 0) std::printf("[ measured ] %s\n", line.c_str());
}

inline DenseArray dense_array(std::vector<int64_t> shape, std::vector<double> v) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(v);
  return a;
}

// A synthetic data set: N cells in a D-dimensional "PCA" (smooth curve plus noise), G genes of
// which the first G − 2 are PCA genes with random loadings, a random SparseVFC field with M
// centres on cells, X_umap = a nonlinear 2-D image of the PCA coordinates, the exact kNN graph.
struct Synthetic {
  int64_t N = 240, D = 5, G = 12, M = 20, k = 10;
  double beta = 0.3;
  std::vector<double> x, umap, pcs, mean, ctrl, coef;
};

inline Synthetic synthetic_data() {
  Synthetic s;
  sim::CounterRng rng(sim::hash_key({7, 1}));
  for (int64_t i = 0; i < s.N; ++i) {
    const double t = 4.0 * static_cast<double>(i) / static_cast<double>(s.N);
    for (int64_t q = 0; q < s.D; ++q) s.x.push_back(std::sin(t * (1 + 0.3 * static_cast<double>(q))) + 0.15 * (rng.uniform() - 0.5));
    s.umap.push_back(s.x[static_cast<size_t>(i * s.D)] + 0.5 * s.x[static_cast<size_t>(i * s.D + 2)]);
    s.umap.push_back(s.x[static_cast<size_t>(i * s.D + 1)] - 0.3 * s.x[static_cast<size_t>(i * s.D + 3)] * s.x[static_cast<size_t>(i * s.D + 3)]);
  }
  for (int64_t g = 0; g < (s.G - 2) * s.D; ++g) s.pcs.push_back(rng.uniform() - 0.5);
  for (int64_t g = 0; g < s.G - 2; ++g) s.mean.push_back(rng.uniform());
  for (int64_t m = 0; m < s.M; ++m) {
    const int64_t cell = m * (s.N / s.M);
    for (int64_t q = 0; q < s.D; ++q) {
      s.ctrl.push_back(s.x[static_cast<size_t>(cell * s.D + q)]);
      s.coef.push_back(rng.uniform() - 0.5);
    }
  }
  return s;
}

inline Dataset synthetic_dataset(MPI_Comm comm, const Synthetic& s, bool with_field = true) {
  Dataset d = Dataset::create(comm, s.N, s.G);
  d.source = "synthetic.h5ad";
  std::vector<uint8_t> use(static_cast<size_t>(s.G), 1);
  use[static_cast<size_t>(s.G - 2)] = use[static_cast<size_t>(s.G - 1)] = 0;
  d.var.set("use_for_pca", Column::numeric(Array::from(use, DType::boolean)));
  d.uns["PCs"] = UnsNode::numeric(dense_array({s.G - 2, s.D}, s.pcs));
  d.uns["pca_mean"] = UnsNode::numeric(dense_array({s.G - 2}, s.mean));
  d.obsm["X_pca"] = rows_of(dense_array({s.N, s.D}, s.x), d);
  d.obsm["X_umap"] = rows_of(dense_array({s.N, 2}, s.umap), d);
  if (with_field) {
    UnsNode vf = UnsNode::dict();
    vf["X_ctrl"] = UnsNode::numeric(dense_array({s.M, s.D}, s.ctrl));
    vf["C"] = UnsNode::numeric(dense_array({s.M, s.D}, s.coef));
    vf["beta"] = UnsNode::scalar(s.beta);
    d.uns["VecFld_pca"] = vf;
  }
  d.obsp["distances"] = knn_distances(d, s.x, static_cast<int>(s.D), static_cast<int>(s.k));
  return d;
}

// The rank's rows of a local array, gathered on every rank in cell order.
inline std::vector<double> gathered(MPI_Comm comm, const std::vector<double>& local) {
  int size = ranks(comm);
  int n = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  for (int r = 1; r < size; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
  std::vector<double> all(static_cast<size_t>(displs.back() + counts.back()));
  MPI_Allgatherv(local.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  return all;
}

}  // namespace velofield::test
