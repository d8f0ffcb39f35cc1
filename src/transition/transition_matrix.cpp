#include "transition/transition_matrix.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <ctime>
#include <functional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "data/row_exchange.hpp"
#include "transition/dist_matrix_row_builder.hpp"
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
  // Each pass keeps, per block of cells (in scoring order), their nonzero similarities as a small
  // exactly-sized CSR: table row (int32: a rank's table has fewer than 2^31 rows) and ρ. No
  // per-cell or growing arrays (their doubling would cost up to twice the entries), and a block's
  // arrays are freed as soon as its rows are in the matrix.
  struct BlockEntries {
    std::vector<int64_t> offsets{0};   // cells of the block + 1
    std::vector<int32_t> row;
    std::vector<double> value;
  };
  const int64_t block = std::max<int64_t>(16, std::min<int64_t>(int64_t(1) << 16, (int64_t(1) << 22) / G));
  const int64_t blocks = (n + block - 1) / block;
  std::vector<std::vector<BlockEntries>> found(static_cast<size_t>(passes), std::vector<BlockEntries>(static_cast<size_t>(blocks)));
  agree(d.comm, nb.rows() <= INT32_MAX, "cell-velocities: more than 2^31 cells in one rank's neighbourhoods: use more ranks");
  std::vector<int64_t> stamp(static_cast<size_t>(nb.rows()), -1), offsets, neighbor, cell_row, around, active;
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
    for (int64_t b0 = 0; b0 < n; b0 += block) {
      const int64_t b1 = std::min(n, b0 + block), cells = b1 - b0;
      // The kernel sees only the block's cells with a neighbour in this pass's rows (`active`,
      // positions in the block): a halo chunk serves a stretch of the scoring order, and the
      // velocity transform of the other cells would be wasted.
      offsets.assign(1, 0);
      neighbor.clear();
      cell_row.clear();
      active.clear();
      for (int64_t q = 0; q < cells; ++q) {
        const int64_t i = order[static_cast<size_t>(b0 + q)];
        around.clear();
        nb.neighborhood(i, around, stamp);
        const size_t before = neighbor.size();
        for (int64_t r : around)
          if (r >= lo && r < hi) neighbor.push_back(pass == 0 ? r : n + (r - lo));   // the kernel's halo is this chunk
        if (neighbor.size() == before) continue;
        offsets.push_back(static_cast<int64_t>(neighbor.size()));
        cell_row.push_back(i);
        active.push_back(q);
      }
      BlockEntries& out = found[static_cast<size_t>(pass)][static_cast<size_t>(b0 / block)];
      if (active.empty()) {
        out.offsets.assign(static_cast<size_t>(cells + 1), 0);
        continue;
      }
      const int64_t m = static_cast<int64_t>(active.size());
      velocity.resize(static_cast<size_t>(m * G));
      for (int64_t a = 0; a < m; ++a) v_cols.read(cell_row[static_cast<size_t>(a)], velocity.data() + a * G);
      similarity.resize(neighbor.size());
      kernels::SimilarityInput<Value> in;
      in.cells = m;
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
      auto kept = [&](int64_t a, int64_t k) { return similarity[static_cast<size_t>(k)] != 0 && neighbor[static_cast<size_t>(k)] != cell_row[static_cast<size_t>(a)]; };
      int64_t count = 0;
      for (int64_t a = 0; a < m; ++a)
        for (int64_t k = offsets[static_cast<size_t>(a)]; k < offsets[static_cast<size_t>(a + 1)]; ++k) count += kept(a, k);
      out.row.reserve(static_cast<size_t>(count));
      out.value.reserve(static_cast<size_t>(count));
      for (int64_t q = 0, a = 0; q < cells; ++q) {
        if (a < m && active[static_cast<size_t>(a)] == q) {
          for (int64_t k = offsets[static_cast<size_t>(a)]; k < offsets[static_cast<size_t>(a + 1)]; ++k) {
            if (!kept(a, k)) continue;
            const int64_t r = neighbor[static_cast<size_t>(k)];
            out.row.push_back(static_cast<int32_t>(pass == 0 ? r : lo + (r - n)));
            out.value.push_back(similarity[static_cast<size_t>(k)]);
          }
          ++a;
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
  rep.table_rows = nb.rows();
  rep.halo_rows = halo;
  rep.bytes_received = nb.knn_bytes_received() + halo * G * static_cast<int64_t>(sizeof(Value));
  rep.seconds_kernel = seconds_kernel;
  rep.cpu_seconds_kernel = cpu_kernel;
  rep.passes = passes;

  // c_i = the largest ρ of row i (0 for none), then ub over all cells.
  t0 = MPI_Wtime();
  std::vector<double> best(static_cast<size_t>(n), 0.0);
  for (const auto& pass_blocks : found)
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockEntries& e = pass_blocks[static_cast<size_t>(b)];
      for (size_t q = 0; q + 1 < e.offsets.size(); ++q)
        for (int64_t k = e.offsets[q]; k < e.offsets[q + 1]; ++k) {
          double& c = best[static_cast<size_t>(order[static_cast<size_t>(b * block) + q])];
          c = std::max(c, e.value[static_cast<size_t>(k)]);
        }
    }
  rep.upper_bound = global_percentile(best, d.n_obs, 98.0, d.comm);

  // T straight into PETSc, a block of rows at a time (rows may go in any order), each block's
  // similarities freed once its rows are in: the memory holds the entries once, not three times.
  // Pass 0 holds the rank's own columns (PETSc's diagonal block), the other passes the rest.
  std::vector<PetscInt> d_nnz(static_cast<size_t>(n), 0), o_nnz(static_cast<size_t>(n), 0);
  for (int64_t pass = 0; pass < passes; ++pass)
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockEntries& e = found[static_cast<size_t>(pass)][static_cast<size_t>(b)];
      for (size_t q = 0; q + 1 < e.offsets.size(); ++q)
        (pass == 0 ? d_nnz : o_nnz)[static_cast<size_t>(order[static_cast<size_t>(b * block) + q])] +=
            static_cast<PetscInt>(e.offsets[q + 1] - e.offsets[q]);
    }
  DistMatrixRowBuilder T(d.comm, n, d.n_obs, d_nnz, o_nnz);
  std::vector<PetscInt>().swap(d_nnz);
  std::vector<PetscInt>().swap(o_nnz);
  std::vector<Entry> row;
  std::vector<PetscInt> cols;
  std::vector<PetscScalar> values;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t b0 = b * block, cells = std::min(n, b0 + block) - b0;
    for (int64_t q = 0; q < cells; ++q) {
      const int64_t i = order[static_cast<size_t>(b0 + q)], self = d.obs_begin + i;
      row.clear();
      for (int64_t pass = 0; pass < passes; ++pass) {
        const BlockEntries& e = found[static_cast<size_t>(pass)][static_cast<size_t>(b)];
        for (int64_t k = e.offsets[static_cast<size_t>(q)]; k < e.offsets[static_cast<size_t>(q + 1)]; ++k)
          row.push_back({nb.row_cell(e.row[static_cast<size_t>(k)]), e.value[static_cast<size_t>(k)]});
      }
      // By column: the order dynamo's CSR sums in, and PETSc's.
      std::sort(row.begin(), row.end(), [](const Entry& a, const Entry& e) { return a.cell < e.cell; });
      const double diagonal = std::expm1(std::clamp(rep.upper_bound - best[static_cast<size_t>(i)], 0.0, 1.0) / o.sigma);
      double l1 = 0;
      bool diagonal_added = false;
      for (auto& e : row) {
        if (!diagonal_added && e.cell > self) {
          l1 += diagonal;
          diagonal_added = true;
        }
        e.value = e.value > 0 ? std::expm1(e.value / o.sigma) : -std::expm1(-e.value / o.sigma);
        l1 += std::fabs(e.value);
      }
      if (!diagonal_added) l1 += diagonal;
      cols.resize(row.size());
      values.resize(row.size());
      for (size_t k = 0; k < row.size(); ++k) {
        cols[k] = static_cast<PetscInt>(row[k].cell);
        values[k] = row[k].value / l1;
      }
      T.set_row(self, cols, values);
      rep.entries += static_cast<int64_t>(row.size());
      rep.empty_rows += row.empty();
    }
    for (auto& pass_blocks : found) pass_blocks[static_cast<size_t>(b)] = BlockEntries();
  }
  std::vector<std::vector<BlockEntries>>().swap(found);
  DistMatrix matrix = T.assemble();
  rep.seconds_assembly = MPI_Wtime() - t0;
  return matrix;
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
