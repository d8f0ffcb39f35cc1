#include "neighbors/fuzzy_graph.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace velofield {

namespace {

constexpr float kSmoothKTolerance = 1e-5f;
constexpr float kMinKDistScale = 1e-3f;
constexpr int kBisectionSteps = 64;

void check_petsc(PetscErrorCode ierr, const char* what) {
  if (ierr) throw Error(std::string("PETSc failed in ") + what + " (error " + std::to_string(ierr) + ")");
}

}  // namespace

SmoothKnn smooth_knn_dist(MPI_Comm comm, const KnnGraph& knn) {
  const int k = knn.k;
  const int64_t n = knn.n_local;
  // umap-learn takes the distances as float32 and the mean over the whole kNN distance table.
  std::vector<float> dist(knn.distances.size());
  for (size_t i = 0; i < dist.size(); ++i) dist[i] = static_cast<float>(knn.distances[i]);
  double sums[2] = {0, static_cast<double>(dist.size())};
  for (float d : dist) sums[0] += d;
  MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm);
  const double mean_all = sums[1] > 0 ? sums[0] / sums[1] : 0;
  const double target = std::log2(static_cast<double>(k));

  SmoothKnn out;
  out.sigma.resize(static_cast<size_t>(n));
  out.rho.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = dist.data() + i * k;
    // rho: the nearest nonzero distance (local_connectivity = 1).
    float rho = 0;
    for (int j = 0; j < k; ++j) {
      if (row[j] > 0) {
        rho = row[j];
        break;
      }
    }
    float lo = 0, hi = std::numeric_limits<float>::infinity(), mid = 1;
    for (int it = 0; it < kBisectionSteps; ++it) {
      float psum = 0;
      for (int j = 1; j < k; ++j) {   // column 0 is the cell itself
        const float d = row[j] - rho;
        psum += d > 0 ? std::exp(-(d / mid)) : 1.0f;
      }
      if (std::fabs(static_cast<double>(psum) - target) < kSmoothKTolerance) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2.0f;
      } else {
        lo = mid;
        mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2.0f;
      }
    }
    float sigma = mid;
    if (rho > 0) {
      double mean_row = 0;
      for (int j = 0; j < k; ++j) mean_row += row[j];
      mean_row /= k;
      if (sigma < kMinKDistScale * mean_row) sigma = static_cast<float>(kMinKDistScale * mean_row);
    } else if (sigma < kMinKDistScale * mean_all) {
      sigma = static_cast<float>(kMinKDistScale * mean_all);
    }
    out.sigma[static_cast<size_t>(i)] = sigma;
    out.rho[static_cast<size_t>(i)] = rho;
  }
  return out;
}

DistMatrix fuzzy_union_graph(MPI_Comm comm, const KnnGraph& knn, const SmoothKnn& smooth, int64_t n_obs) {
  const int k = knn.k;
  // The directed memberships, row by row, self and exact zeros left out.
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> vals;
  for (int64_t i = 0; i < knn.n_local; ++i) {
    const size_t ui = static_cast<size_t>(i);
    const int64_t self = knn.ids[ui * static_cast<size_t>(k)];
    for (int j = 0; j < k; ++j) {
      const size_t e = ui * static_cast<size_t>(k) + static_cast<size_t>(j);
      const int64_t c = knn.ids[e];
      if (c == self || c < 0) continue;
      const float d = static_cast<float>(knn.distances[e]) - smooth.rho[ui];
      float a = 1.0f;
      if (d > 0 && smooth.sigma[ui] != 0) a = std::exp(-(d / smooth.sigma[ui]));
      if (a == 0) continue;
      cols.push_back(c);
      vals.push_back(a);
    }
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  // The directed graph and its transpose are only needed as row copies: each is freed as soon as
  // its rows are out (at atlas scale they are hundreds of MB per rank).
  std::vector<int64_t> p1, c1, p2, c2;
  std::vector<double> v1, v2;
  {
    DistMatrix directed = DistMatrix::from_local_csr(comm, knn.n_local, n_obs, indptr, cols, vals, DType::f32);
    std::vector<int64_t>().swap(cols);
    std::vector<double>().swap(vals);
    Mat transposed = nullptr;
    check_petsc(MatTranspose(directed.mat(), MAT_INITIAL_MATRIX, &transposed), "MatTranspose");
    DistMatrix reverse(transposed, DType::f32);
    directed.local_csr(p1, c1, v1);
    directed = DistMatrix();
    reverse.local_csr(p2, c2, v2);
  }
  // Merge the two sorted rows: A = (a + aᵀ) - a·aᵀ, in float32 as scipy computes it on float32 data.
  std::vector<int64_t> out_ptr{0}, out_cols;
  std::vector<double> out_vals;
  out_cols.reserve(c1.size() + c2.size());
  out_vals.reserve(c1.size() + c2.size());
  for (int64_t i = 0; i < knn.n_local; ++i) {
    int64_t x = p1[static_cast<size_t>(i)], y = p2[static_cast<size_t>(i)];
    const int64_t xe = p1[static_cast<size_t>(i + 1)], ye = p2[static_cast<size_t>(i + 1)];
    while (x < xe || y < ye) {
      int64_t col;
      float a = 0, at = 0;
      if (y >= ye || (x < xe && c1[static_cast<size_t>(x)] < c2[static_cast<size_t>(y)])) {
        col = c1[static_cast<size_t>(x)];
        a = static_cast<float>(v1[static_cast<size_t>(x++)]);
      } else if (x >= xe || c2[static_cast<size_t>(y)] < c1[static_cast<size_t>(x)]) {
        col = c2[static_cast<size_t>(y)];
        at = static_cast<float>(v2[static_cast<size_t>(y++)]);
      } else {
        col = c1[static_cast<size_t>(x)];
        a = static_cast<float>(v1[static_cast<size_t>(x++)]);
        at = static_cast<float>(v2[static_cast<size_t>(y++)]);
      }
      const float sum = a + at;
      const float value = sum - a * at;
      if (value == 0) continue;
      out_cols.push_back(col);
      out_vals.push_back(value);
    }
    out_ptr.push_back(static_cast<int64_t>(out_cols.size()));
  }
  return DistMatrix::from_local_csr(comm, knn.n_local, n_obs, out_ptr, out_cols, out_vals, DType::f32);
}

DistMatrix knn_distance_matrix(MPI_Comm comm, const KnnGraph& knn, int64_t n_obs) {
  const int k = knn.k;
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> vals;
  std::vector<std::pair<int64_t, double>> row;
  for (int64_t i = 0; i < knn.n_local; ++i) {
    const size_t base = static_cast<size_t>(i) * static_cast<size_t>(k);
    row.clear();
    for (int j = 1; j < k; ++j) {
      const size_t e = base + static_cast<size_t>(j);
      if (knn.ids[e] >= 0) row.emplace_back(knn.ids[e], knn.distances[e]);
    }
    std::sort(row.begin(), row.end());
    for (const auto& [c, d] : row) {
      cols.push_back(c);
      vals.push_back(d);
    }
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  return DistMatrix::from_local_csr(comm, knn.n_local, n_obs, indptr, cols, vals, DType::f32);
}

}  // namespace velofield
