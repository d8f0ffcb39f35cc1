#include "transition/transition_matrix.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <ctime>
#include <functional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "data/row_exchange.hpp"
#include "transition/gene_columns.hpp"
#include "transition/global_percentile.hpp"
#include "transition/knn_table.hpp"
#include "transition/transition_neighborhoods.hpp"

namespace velofield {

namespace {

// CPU time of this process: on a machine shared with other jobs, wall time measures the queue too.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

struct Entry {
  int64_t cell;   // global column
  double value;   // ρ, then T
};

// The first NaN/Inf of a layer among the transition genes, for a message a user can act on.
struct NonFinite {
  int64_t count = 0, cell = -1, gene = -1;
  template <class T>
  void scan(const T* row, int64_t n, int64_t cell_index, const std::vector<int64_t>& genes) {
    for (int64_t s = 0; s < n; ++s) {
      if (std::isfinite(static_cast<double>(row[s]))) continue;
      if (count++ == 0) {
        cell = cell_index;
        gene = genes[static_cast<size_t>(s)];
      }
    }
  }
  std::string message(const Dataset& d, const std::string& key, int64_t total, const std::string& what) const {
    const std::string name = gene < static_cast<int64_t>(d.var.index.size()) ? d.var.index[static_cast<size_t>(gene)] : std::to_string(gene);
    return describe(d.source, "layers/" + key,
                    std::to_string(total) + " NaN/Inf value(s) in the transition genes (first: cell " + std::to_string(cell) + ", gene '" +
                        name + "'); " + what);
  }
};

// Collective: the velocities are checked first, then the expressions; every rank throws the
// message of the lowest rank that found a bad value, with the total count over ranks.
void agree_finite(const Dataset& d, const NonFinite& velocity, const NonFinite& expression, const TransitionMatrixOptions& o) {
  int64_t totals[2] = {velocity.count, expression.count};
  MPI_Allreduce(MPI_IN_PLACE, totals, 2, MPI_INT64_T, MPI_SUM, d.comm);
  std::string message;
  if (totals[0] > 0 && velocity.count > 0)
    message = velocity.message(d, o.vkey, totals[0], "the transition kernel needs finite velocities: clear var/use_for_transition for genes without a fit");
  else if (totals[0] == 0 && expression.count > 0)
    message = expression.message(d, o.ekey, totals[1], "the transition kernel needs finite expressions");
  agree(d.comm, message.empty(), message);
}

template <class Value>
DistMatrix build(const Dataset& d, const std::vector<int64_t>& genes, const TransitionMatrixOptions& o, TransitionMatrixReport& rep) {
  const int64_t G = static_cast<int64_t>(genes.size()), n = d.n_obs_local;
  const Matrix& X = d.layer(o.ekey);
  const Matrix& V = d.layer(o.vkey);
  rep.genes = G;
  rep.single_precision = std::is_same<Value, float>::value;

  double t0 = MPI_Wtime();
  const KnnTable knn = knn_table_from_distances(d, o.graph, o.n_neighbors);
  const TransitionNeighborhoods nb(d, knn, o.hops);
  rep.seconds_neighborhoods = MPI_Wtime() - t0;

  // The rank's rows of the expression table: the layer itself where it already is that table
  // (dense, in the kernel's precision, every gene a transition gene), else a compact copy.
  t0 = MPI_Wtime();
  const GeneColumns x_cols(X, genes), v_cols(V, genes);
  const auto* dense_x = std::get_if<DenseArray>(&X);
  const bool layer_is_table = dense_x && dense_x->values.dtype() == dtype_of<Value>() && G == d.n_vars;
  std::vector<Value> local_copy;
  if (!layer_is_table) local_copy.resize(static_cast<size_t>(n * G));
  const Value* local = layer_is_table ? dense_x->values.data<Value>() : local_copy.data();
  NonFinite bad_x, bad_v;
  {
    std::vector<Value> v(static_cast<size_t>(G));
    for (int64_t i = 0; i < n; ++i) {
      if (!layer_is_table) x_cols.read(i, local_copy.data() + i * G);
      bad_x.scan(local + i * G, G, d.obs_begin + i, genes);
      v_cols.read(i, v.data());
      bad_v.scan(v.data(), G, d.obs_begin + i, genes);
    }
  }
  agree_finite(d, bad_v, bad_x, o);
  rep.seconds_halo = MPI_Wtime() - t0;

  // Pass 0 scores every cell against its neighbours on this rank; each further pass fetches one
  // chunk of the halo (rows of other ranks, halo_chunk_bytes at most) and scores against the neighbours in
  // it. So the memory beside the input layers is one chunk, however many cells other ranks hold,
  // and no row travels twice. Every rank runs the same number of passes (the fetch is collective).
  const int64_t halo = nb.halo_rows();
  const int64_t chunk = std::max<int64_t>(
      1, std::min<int64_t>(o.halo_chunk_bytes / static_cast<int64_t>(sizeof(Value)), (int64_t(1) << 30) / d.ranks()) / G);
  int64_t passes = 1 + (halo + chunk - 1) / chunk;
  MPI_Allreduce(MPI_IN_PLACE, &passes, 1, MPI_INT64_T, MPI_MAX, d.comm);
  const std::function<void(int64_t, Value*)> pack = [&](int64_t r, Value* out) { std::copy(local + r * G, local + (r + 1) * G, out); };
  std::vector<Value> chunk_rows;
  // Each pass appends its nonzero similarities as a CSR over the scoring order: table row (int32:
  // a rank's table has fewer than 2^31 rows) and ρ. No per-cell vectors: their doubling would
  // cost up to twice the entries.
  struct PassEntries {
    std::vector<int64_t> offsets;   // n + 1, by position in the scoring order
    std::vector<int32_t> row;       // table rows (global cells after the passes)
    std::vector<double> value;
  };
  std::vector<PassEntries> found(static_cast<size_t>(passes));
  agree(d.comm, nb.rows() <= INT32_MAX, "cell-velocities: more than 2^31 cells in one rank's neighbourhoods: use more ranks");
  const int64_t block = std::max<int64_t>(16, std::min<int64_t>(int64_t(1) << 16, (int64_t(1) << 22) / G));
  std::vector<int64_t> stamp(static_cast<size_t>(nb.rows()), -1), offsets, neighbor, cell_row, around;
  std::vector<Value> velocity;
  std::vector<double> similarity;
  const auto& order = nb.order();
  double seconds_kernel = 0, cpu_kernel = 0;
  for (int64_t pass = 0; pass < passes; ++pass) {
    // Rows [lo, hi) of the table are scored in this pass.
    int64_t lo = 0, hi = n;
    if (pass > 0) {
      const double t_fetch = MPI_Wtime();
      lo = n + std::min(halo, (pass - 1) * chunk);
      hi = n + std::min(halo, pass * chunk);
      std::vector<std::pair<int64_t, int64_t>> wanted;   // (cell, row), by cell as fetch_rows wants
      for (int64_t r = lo; r < hi; ++r) wanted.emplace_back(nb.row_cell(r), r);
      std::sort(wanted.begin(), wanted.end());
      std::vector<int64_t> cells(wanted.size());
      for (size_t q = 0; q < wanted.size(); ++q) cells[q] = wanted[q].first;
      const std::vector<Value> fetched = fetch_rows(d.comm, d.partition(), cells, G, pack);
      chunk_rows.resize(static_cast<size_t>((hi - lo) * G));
      for (size_t q = 0; q < wanted.size(); ++q)
        std::copy(fetched.begin() + static_cast<std::ptrdiff_t>(q * G), fetched.begin() + static_cast<std::ptrdiff_t>((q + 1) * G),
                  chunk_rows.begin() + (wanted[q].second - lo) * G);
      rep.seconds_halo += MPI_Wtime() - t_fetch;
    }
    const double t_kernel = MPI_Wtime(), c_kernel = cpu_seconds();
    std::fill(stamp.begin(), stamp.end(), -1);   // neighbourhoods are rebuilt in every pass
    PassEntries& out = found[static_cast<size_t>(pass)];
    out.offsets.assign(1, 0);
    for (int64_t b0 = 0; b0 < n; b0 += block) {
      const int64_t b1 = std::min(n, b0 + block), cells = b1 - b0;
      offsets.assign(1, 0);
      neighbor.clear();
      cell_row.clear();
      for (int64_t q = 0; q < cells; ++q) {
        const int64_t i = order[static_cast<size_t>(b0 + q)];
        around.clear();
        nb.neighborhood(i, around, stamp);
        for (int64_t r : around)
          if (r >= lo && r < hi) neighbor.push_back(pass == 0 ? r : n + (r - lo));   // the kernel's halo is this chunk
        offsets.push_back(static_cast<int64_t>(neighbor.size()));
        cell_row.push_back(i);
      }
      if (neighbor.empty()) {
        out.offsets.insert(out.offsets.end(), static_cast<size_t>(cells), out.offsets.back());
        continue;
      }
      velocity.resize(static_cast<size_t>(cells * G));
      for (int64_t q = 0; q < cells; ++q) v_cols.read(order[static_cast<size_t>(b0 + q)], velocity.data() + q * G);
      similarity.resize(neighbor.size());
      kernels::SimilarityInput<Value> in;
      in.cells = cells;
      in.genes = G;
      in.n_rows = n;
      in.rows = local;
      in.n_halo = pass == 0 ? 0 : hi - lo;
      in.halo = chunk_rows.data();
      in.velocity = velocity.data();
      in.cell_row = cell_row.data();
      in.offsets = offsets.data();
      in.neighbor_row = neighbor.data();
      kernels::transition_similarity(in, o.transform, o.measure, similarity.data());
      for (int64_t q = 0; q < cells; ++q) {
        for (int64_t k = offsets[static_cast<size_t>(q)]; k < offsets[static_cast<size_t>(q + 1)]; ++k) {
          const double sim = similarity[static_cast<size_t>(k)];
          const int64_t r = neighbor[static_cast<size_t>(k)];
          if (sim == 0 || r == cell_row[static_cast<size_t>(q)]) continue;
          out.row.push_back(static_cast<int32_t>(pass == 0 ? r : lo + (r - n)));
          out.value.push_back(sim);
        }
        out.offsets.push_back(static_cast<int64_t>(out.row.size()));
      }
      log().progress("cell-velocities: transition kernel, cells × passes of rank 0", pass * n + b1, passes * n);
    }
    seconds_kernel += MPI_Wtime() - t_kernel;
    cpu_kernel += cpu_seconds() - c_kernel;
  }
  std::vector<Value>().swap(chunk_rows);
  std::vector<Value>().swap(local_copy);
  // The rows of T in the rank's cell order, each by column (the order dynamo's CSR sums in, and
  // PETSc's insertion order), with c_i = the largest ρ of the row.
  std::vector<int64_t> position(static_cast<size_t>(n));
  for (int64_t p = 0; p < n; ++p) position[static_cast<size_t>(order[static_cast<size_t>(p)])] = p;
  std::vector<int64_t> indptr(static_cast<size_t>(n + 1), 0), cols;
  std::vector<double> values, best(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t count = 0;
    for (const auto& f : found) count += f.offsets[static_cast<size_t>(position[static_cast<size_t>(i)] + 1)] - f.offsets[static_cast<size_t>(position[static_cast<size_t>(i)])];
    indptr[static_cast<size_t>(i + 1)] = indptr[static_cast<size_t>(i)] + count;
  }
  cols.resize(static_cast<size_t>(indptr.back()));
  values.resize(static_cast<size_t>(indptr.back()));
  std::vector<Entry> row;
  for (int64_t i = 0; i < n; ++i) {
    row.clear();
    const int64_t p = position[static_cast<size_t>(i)];
    for (const auto& f : found)
      for (int64_t k = f.offsets[static_cast<size_t>(p)]; k < f.offsets[static_cast<size_t>(p + 1)]; ++k)
        row.push_back({nb.row_cell(f.row[static_cast<size_t>(k)]), f.value[static_cast<size_t>(k)]});
    std::sort(row.begin(), row.end(), [](const Entry& a, const Entry& e) { return a.cell < e.cell; });
    for (size_t k = 0; k < row.size(); ++k) {
      cols[static_cast<size_t>(indptr[static_cast<size_t>(i)]) + k] = row[k].cell;
      values[static_cast<size_t>(indptr[static_cast<size_t>(i)]) + k] = row[k].value;
      best[static_cast<size_t>(i)] = std::max(best[static_cast<size_t>(i)], row[k].value);
    }
  }
  std::vector<PassEntries>().swap(found);
  rep.table_rows = nb.rows();
  rep.halo_rows = halo;
  rep.bytes_received = nb.knn_bytes_received() + halo * G * static_cast<int64_t>(sizeof(Value));
  rep.seconds_kernel = seconds_kernel;
  rep.cpu_seconds_kernel = cpu_kernel;
  rep.passes = passes;

  // Kernel, self weight and row normalisation (dynamo's order: L1-normalise with the diagonal,
  // then drop the diagonal).
  t0 = MPI_Wtime();
  rep.upper_bound = global_percentile(best, d.n_obs, 98.0, d.comm);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t self = d.obs_begin + i, begin = indptr[static_cast<size_t>(i)], end = indptr[static_cast<size_t>(i + 1)];
    const double diagonal = std::expm1(std::clamp(rep.upper_bound - best[static_cast<size_t>(i)], 0.0, 1.0) / o.sigma);
    double l1 = 0;
    bool diagonal_added = false;
    for (int64_t k = begin; k < end; ++k) {
      if (!diagonal_added && cols[static_cast<size_t>(k)] > self) {
        l1 += diagonal;
        diagonal_added = true;
      }
      double& v = values[static_cast<size_t>(k)];
      v = v > 0 ? std::expm1(v / o.sigma) : -std::expm1(-v / o.sigma);
      l1 += std::fabs(v);
    }
    if (!diagonal_added) l1 += diagonal;
    for (int64_t k = begin; k < end; ++k) values[static_cast<size_t>(k)] /= l1;
    rep.empty_rows += begin == end;
  }
  rep.entries = static_cast<int64_t>(cols.size());
  DistMatrix T = DistMatrix::from_local_csr(d.comm, n, d.n_obs, indptr, cols, values, DType::f64);
  rep.seconds_assembly = MPI_Wtime() - t0;
  return T;
}

}  // namespace

DistMatrix transition_matrix(const Dataset& d, const std::vector<int64_t>& genes, const TransitionMatrixOptions& o,
                             TransitionMatrixReport& report) {
  // Shapes first, on every rank alike (the layers are distributed, their columns are not).
  for (const std::string& key : {o.ekey, o.vkey}) {
    const Matrix& m = d.layer(key);
    if (matrix_cols(m) != d.n_vars)
      fail(d.source, "layers/" + key, "has " + std::to_string(matrix_cols(m)) + " columns, expected n_vars = " + std::to_string(d.n_vars));
  }
  const Matrix& X = d.layer(o.ekey);
  const DType dtype = std::holds_alternative<CsrMatrix>(X) ? std::get<CsrMatrix>(X).data.dtype() : std::get<DenseArray>(X).values.dtype();
  // float32 expressions stay float32 in the halo table (half the memory and traffic, twice the
  // vector width for the square roots); anything else runs in double.
  if (dtype == DType::f32) return build<float>(d, genes, o, report);
  return build<double>(d, genes, o, report);
}

}  // namespace velofield
