#pragma once
// Shared by the vectorfield MPI tests: datasets built from dynamo's SparseVFC inputs, running the
// stage with a few keys, and collective comparisons of distributed results.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "reference.hpp"
#include "test_support.hpp"
#include "vectorfield/vectorfield_stage.hpp"

namespace velofield::test {

inline void run_vectorfield(Dataset& d, const std::map<std::string, std::string>& keys) {
  static const Stage stage = vectorfield_stage();
  Config c;
  for (const auto& [k, v] : keys) c.set("vectorfield", k, v);
  StageConfig sc(c, "vectorfield", stage.keys);
  stage.run(d, sc);
}

// A dataset of n cells on `comm` whose obsm X_<basis> / velocity_<basis> hold the rows of the
// global arrays x and y (n × dim, row-major).
inline Dataset embedding_dataset(MPI_Comm comm, const std::string& basis, const std::vector<double>& x,
                                 const std::vector<double>& y, int64_t dim, int64_t n_vars = 1) {
  const int64_t n = static_cast<int64_t>(x.size()) / dim;
  Dataset d = Dataset::create(comm, n, n_vars);
  auto local = [&](const std::vector<double>& a) {
    DenseArray out;
    out.shape = {d.n_obs_local, dim};
    out.values = Array::from(std::vector<double>(a.begin() + d.obs_begin * dim, a.begin() + (d.obs_begin + d.n_obs_local) * dim));
    return out;
  };
  d.obsm["X_" + basis] = local(x);
  d.obsm["velocity_" + basis] = local(y);
  return d;
}

// dynamo's SparseVFC inputs for a basis: X, Y (float64) and the cells of its control points. dynamo
// records ctrl_idx as positions in its sorted unique rows (spec 5.2), so the control points are
// found by their coordinates: the first cell at each X_ctrl row.
struct DynamoFit {
  std::vector<double> x, y, v, p;
  std::vector<int64_t> ctrl_cells;
  int64_t n = 0, dim = 0;
};

inline DynamoFit dynamo_fit(const std::string& basis) {
  DynamoFit f;
  const DenseArray X = reference_array("VecFld_" + basis + "_X"), Y = reference_array("VecFld_" + basis + "_Y");
  const DenseArray C = reference_array("VecFld_" + basis + "_X_ctrl");
  f.n = X.shape[0];
  f.dim = X.shape[1];
  f.x = X.values.to_double();
  f.y = Y.values.to_double();
  f.v = reference_array("VecFld_" + basis + "_V").values.to_double();
  f.p = reference_array("VecFld_" + basis + "_P").values.to_double();
  const std::vector<double> ctrl = C.values.to_double();
  const int64_t m = C.shape[0];
  for (int64_t k = 0; k < m; ++k) {
    int64_t found = -1;
    for (int64_t i = 0; i < f.n && found < 0; ++i) {
      bool same = true;
      for (int64_t q = 0; q < f.dim && same; ++q) same = f.x[static_cast<size_t>(i * f.dim + q)] == ctrl[static_cast<size_t>(k * f.dim + q)];
      if (same) found = i;
    }
    if (found < 0) throw Error("reference: control point " + std::to_string(k) + " is not a row of X");
    f.ctrl_cells.push_back(found);
  }
  return f;
}

// Writes cell indices to DIR/name (rank 0) and returns the path on every rank.
inline std::string write_cell_file(MPI_Comm comm, const std::string& dir, const std::string& name,
                                   const std::vector<int64_t>& cells) {
  const std::string path = dir + "/" + name;
  if (rank(comm) == 0) {
    std::ofstream out(path);
    out << "# control points\n";
    for (int64_t c : cells) out << c << "\n";
  }
  MPI_Barrier(comm);
  return path;
}

inline const DenseArray& obsm(const Dataset& d, const std::string& key) { return d.obsm_dense(key); }

inline double uns_number(const Dataset& d, const std::string& path) { return d.uns.at(path).array.values.as_double(0); }

inline std::vector<double> obs_column(const Dataset& d, const std::string& key) {
  return d.obs.columns.at(key).values.to_double();
}

// sqrt(Σ (a - b)²) / sqrt(Σ b²) over every rank's rows of a and the matching rows of a global b.
inline double relative_frobenius(MPI_Comm comm, const std::vector<double>& local_a, const std::vector<double>& global_b,
                                 int64_t offset) {
  double s[2] = {0, 0};
  for (size_t e = 0; e < local_a.size(); ++e) {
    const double b = global_b[static_cast<size_t>(offset) + e];
    s[0] += (local_a[e] - b) * (local_a[e] - b);
    s[1] += b * b;
  }
  MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, comm);
  return std::sqrt(s[0] / s[1]);
}

// Every rank's local vector, concatenated in rank order, on every rank.
inline std::vector<double> gather_all(MPI_Comm comm, const std::vector<double>& local) {
  int size = ranks(comm);
  int n = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  for (int r = 1; r < size; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
  std::vector<double> all(static_cast<size_t>(displs.back() + counts.back()));
  MPI_Allgatherv(local.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  return all;
}

// A number for a report line: 4 significant digits, exponent where needed.
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// What a test measured, printed once (rank 0) so the numbers show up in the ctest log.
inline void report(const std::string& line) {
  if (rank() == 0) std::printf("[ measured ] %s\n", line.c_str());
}

}  // namespace velofield::test
