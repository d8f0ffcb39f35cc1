#pragma once
// Inputs of the cell-velocities stage, built without the upstream stages, shared by
// test_transition*.cpp, test_projection*.cpp and the benchmark's input maker (jobs/bench):
//  - pancreas: dynamo's own inputs from the reference file (its velocity_S and M_s for the 1617
//    genes it fitted, X_umap, X_pca) and the graph dynamo's cell_velocities used: the exact directed
//    30-NN (self included) in all of X_pca, which it recomputes because reduceDimension leaves no
//    obsp/connectivities (spec 2.5; quirk 23). The reference has no use_for_transition: it is
//    dynamo's rule (gamma > 0.01, gamma_r2 > 0.01) on gamma read back from velocity_S = M_u − gamma·M_s.
//  - simulated: the simulator's counts and true velocity, M_s the counts normalised and averaged
//    over each cell's kNN (noise-free abundances as they are), the kNN exact in log expression (or,
//    at benchmark scale, in the 2-D truth layout, M_s not averaged, only the slots the stage reads).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "data/row_exchange.hpp"
#include "evaluate/kd_tree.hpp"
#include "evaluate/neighbor_lists.hpp"
#include "reference.hpp"
#include "simulate/simulator.hpp"

namespace velofield::test {

// Exact kNN (k cells, the cell itself included; ties by index) of the rank's cells among all
// n_obs `points` (row-major, `dim` columns, every rank holds all), as obsp/distances: the k − 1
// nearest other cells and their Euclidean distances. A kd-tree in few dimensions, else brute force.
inline DistMatrix knn_distances(const Dataset& d, const std::vector<double>& points, int dim, int k) {
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> values;
  auto distance = [&](int64_t a, int64_t b) {
    double s = 0;
    for (int c = 0; c < dim; ++c) s += (points[static_cast<size_t>(a * dim + c)] - points[static_cast<size_t>(b * dim + c)]) *
                                       (points[static_cast<size_t>(a * dim + c)] - points[static_cast<size_t>(b * dim + c)]);
    return s;
  };
  if (dim <= 3) {
    const KdTree tree(points.data(), d.n_obs, dim);
    for (int64_t i = d.obs_begin; i < d.obs_begin + d.n_obs_local; ++i) {
      for (int64_t j : tree.nearest(points.data() + i * dim, k - 1, i)) {
        cols.push_back(j);
        values.push_back(std::sqrt(distance(i, j)));
      }
      indptr.push_back(static_cast<int64_t>(cols.size()));
    }
  } else {
    std::vector<std::pair<double, int64_t>> all(static_cast<size_t>(d.n_obs));
    for (int64_t i = d.obs_begin; i < d.obs_begin + d.n_obs_local; ++i) {
      for (int64_t j = 0; j < d.n_obs; ++j) all[static_cast<size_t>(j)] = {distance(i, j), j};
      std::partial_sort(all.begin(), all.begin() + k, all.end());
      for (int64_t q = 0; q < k; ++q) {
        if (all[static_cast<size_t>(q)].second == i) continue;
        cols.push_back(all[static_cast<size_t>(q)].second);
        values.push_back(std::sqrt(all[static_cast<size_t>(q)].first));
      }
      indptr.push_back(static_cast<int64_t>(cols.size()));
    }
  }
  return DistMatrix::from_local_csr(d.comm, d.n_obs_local, d.n_obs, indptr, cols, values, DType::f32);
}

constexpr int64_t kPancreasCells = 3696, kPancreasGenes = 1617;

// dynamo's transition genes among the 1617 it fitted (see the file comment).
inline std::vector<uint8_t> pancreas_transition_genes() {
  const DenseArray s = reference_array("M_s_pcagenes"), u = reference_array("M_u_pcagenes"), v = reference_array("velocity_S_pcagenes");
  std::vector<uint8_t> use(static_cast<size_t>(kPancreasGenes), 0);
  for (int64_t g = 0; g < kPancreasGenes; ++g) {
    double num = 0, den = 0, mean_u = 0;
    bool undefined = false;
    for (int64_t i = 0; i < kPancreasCells; ++i) {
      const size_t k = static_cast<size_t>(i * kPancreasGenes + g);
      undefined = undefined || std::isnan(v.values.as_double(k));
      num += (u.values.as_double(k) - v.values.as_double(k)) * s.values.as_double(k);
      den += s.values.as_double(k) * s.values.as_double(k);
      mean_u += u.values.as_double(k);
    }
    if (undefined) continue;
    const double gamma = num / den;
    mean_u /= kPancreasCells;
    double ssr = 0, sst = 0;
    for (int64_t i = 0; i < kPancreasCells; ++i) {
      const size_t k = static_cast<size_t>(i * kPancreasGenes + g);
      const double r = u.values.as_double(k) - gamma * s.values.as_double(k), c = u.values.as_double(k) - mean_u;
      ssr += r * r;
      sst += c * c;
    }
    const double r2 = std::isfinite(1 - ssr / sst) ? 1 - ssr / sst : 0;
    use[static_cast<size_t>(g)] = gamma > 0.01 && r2 > 0.01;
  }
  return use;
}

// Collective. dynamo's inputs of cell_velocities on the rows of this rank (`comm` may be
// MPI_COMM_SELF for a one-rank run inside a several-rank test).
inline Dataset pancreas_transition_inputs(MPI_Comm comm) {
  Dataset d = Dataset::create(comm, kPancreasCells, kPancreasGenes);
  d.source = "pancreas (dynamo's cell_velocities inputs)";
  d.var.set("use_for_transition", Column::numeric(Array::from(pancreas_transition_genes(), DType::boolean)));
  d.layers["M_s"] = rows_of(reference_array("M_s_pcagenes"), d);
  d.layers["velocity_S"] = rows_of(reference_array("velocity_S_pcagenes"), d);
  const DenseArray x_pca = reference_array("X_pca");
  d.obsm["X_pca"] = rows_of(x_pca, d);
  d.obsm["X_umap"] = rows_of(reference_array("X_umap"), d);
  std::vector<double> points(x_pca.values.to_double());
  d.obsp["distances"] = knn_distances(d, points, static_cast<int>(x_pca.row_stride()), 30);
  return d;
}

// Collective. The simulator's data with the inputs of cell-velocities: velocity_S = the true
// velocity, M_s = the spliced abundances (noise-free) or counts / library size averaged over the
// kNN, use_for_transition = every gene, obsp/distances = the exact 30-NN in log1p of M_s before
// averaging (graph_in_layout: in obsm/X_true_2d, for millions of cells). `minimal` (benchmark
// inputs) keeps only what the stage reads and skips the averaging: no count layers, no truth.
inline Dataset simulated_transition_inputs(MPI_Comm comm, SimulationOptions o, bool graph_in_layout = false, bool minimal = false) {
  o.truth_max_entries = std::max(o.truth_max_entries, o.n_cells * o.n_genes);   // a dense truth: it is the velocity
  Dataset d = simulate(comm, o);
  const int64_t n = d.n_obs_local, G = d.n_vars;
  // Normalised spliced counts, dense float32 (as a large M_s is stored).
  DenseArray x = DenseArray::zeros({n, G}, DType::f32);
  {
    const CsrMatrix& S = d.layer_csr("spliced");
    float* xs = x.values.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      double total = 0;
      for (int64_t p = S.indptr[static_cast<size_t>(i)]; p < S.indptr[static_cast<size_t>(i + 1)]; ++p) total += S.data.as_double(static_cast<size_t>(p));
      const double scale = o.noise_free || total == 0 ? 1.0 : static_cast<double>(G) * 0.1 / total;
      for (int64_t p = S.indptr[static_cast<size_t>(i)]; p < S.indptr[static_cast<size_t>(i + 1)]; ++p)
        xs[i * G + S.index(p)] = static_cast<float>(S.data.as_double(static_cast<size_t>(p)) * scale);
    }
  }
  if (minimal) {
    for (const char* key : {"spliced", "unspliced"}) d.layers.erase(key);
    d.X.reset();
    d.layers["velocity_S"] = std::move(d.layers.at("true_velocity_S"));
    d.layers.erase("true_velocity_S");
  }
  // The graph.
  std::vector<double> points;
  int dim = 2;
  if (graph_in_layout) {
    points = gather_dense_rows(d, d.obsm_dense("X_true_2d"));
  } else {
    DenseArray logx = DenseArray::zeros({n, G});
    for (int64_t k = 0; k < n * G; ++k) logx.values.data<double>()[k] = std::log1p(static_cast<double>(x.values.data<float>()[k]));
    points = gather_dense_rows(d, logx);
    dim = static_cast<int>(G);
  }
  d.obsp["distances"] = knn_distances(d, points, dim, 30);
  std::vector<double>().swap(points);
  if (o.noise_free || minimal) {
    d.layers["M_s"] = std::move(x);
  } else {
    // M_s: the counts averaged over each cell's kNN (itself included), remote rows fetched.
    DenseArray m_s = DenseArray::zeros({n, G}, DType::f32);
    const float* xs = x.values.data<float>();
    float* ms = m_s.values.data<float>();
    std::vector<int64_t> indptr, cols, remote;
    std::vector<double> unused;
    d.obsp.at("distances").local_csr(indptr, cols, unused);
    for (int64_t c : cols)
      if (c < d.obs_begin || c >= d.obs_begin + n) remote.push_back(c);
    std::sort(remote.begin(), remote.end());
    remote.erase(std::unique(remote.begin(), remote.end()), remote.end());
    const std::function<void(int64_t, float*)> pack = [&](int64_t r, float* out) { std::copy(xs + r * G, xs + (r + 1) * G, out); };
    const std::vector<float> halo = fetch_rows(d.comm, d.partition(), remote, G, pack);
    auto row = [&](int64_t cell) -> const float* {
      if (cell >= d.obs_begin && cell < d.obs_begin + n) return xs + (cell - d.obs_begin) * G;
      return &halo[static_cast<size_t>((std::lower_bound(remote.begin(), remote.end(), cell) - remote.begin()) * G)];
    };
    std::vector<double> sum(static_cast<size_t>(G));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t members = indptr[static_cast<size_t>(i + 1)] - indptr[static_cast<size_t>(i)] + 1;
      for (int64_t g = 0; g < G; ++g) sum[static_cast<size_t>(g)] = xs[i * G + g];
      for (int64_t p = indptr[static_cast<size_t>(i)]; p < indptr[static_cast<size_t>(i + 1)]; ++p) {
        const float* r = row(cols[static_cast<size_t>(p)]);
        for (int64_t g = 0; g < G; ++g) sum[static_cast<size_t>(g)] += r[g];
      }
      for (int64_t g = 0; g < G; ++g) ms[i * G + g] = static_cast<float>(sum[static_cast<size_t>(g)] / static_cast<double>(members));
    }
    d.layers["M_s"] = std::move(m_s);
  }
  if (!minimal) d.layers["velocity_S"] = d.layers.at("true_velocity_S");
  d.var.set("use_for_transition", Column::numeric(Array::from(std::vector<uint8_t>(static_cast<size_t>(G), 1), DType::boolean)));
  return d;
}

}  // namespace velofield::test
