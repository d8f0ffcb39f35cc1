#include "preprocess/preprocess.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/timers.hpp"
#include "data/subset_cells.hpp"
#include "preprocess/cell_cycle.hpp"
#include "preprocess/csr_access.hpp"
#include "preprocess/gene_selection.hpp"
#include "preprocess/pca.hpp"

namespace velofield {

using namespace preprocess;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Wall time of each step (max over ranks, one reduction at the end), logged and added to the
// --timings records as "preprocess.<step>".
class StepClock {
 public:
  explicit StepClock(MPI_Comm comm) : comm_(comm), last_(MPI_Wtime()), last_cpu_(cpu_seconds()) {}
  void mark(const std::string& step) {
    const double now = MPI_Wtime(), cpu = cpu_seconds();
    steps_.emplace_back(step, now - last_);
    // CPU time of this thread: what the step costs on an idle core, whatever else runs.
    log().detail(cat("preprocess.", step, ": wall ", now - last_, " s, cpu ", cpu - last_cpu_, " s"));
    last_ = now;
    last_cpu_ = cpu;
  }
  void finish(const Dataset& d) {
    std::vector<double> t(steps_.size());
    for (size_t i = 0; i < t.size(); ++i) t[i] = steps_[i].second;
    MPI_Allreduce(MPI_IN_PLACE, t.data(), static_cast<int>(t.size()), MPI_DOUBLE, MPI_MAX, comm_);
    int ranks = 1;
    MPI_Comm_size(comm_, &ranks);
    std::vector<int64_t> rss(static_cast<size_t>(ranks)), base(static_cast<size_t>(ranks));
    int64_t mine = peak_rss_bytes(), baseline = Timings::get().baseline_rss();
    MPI_Allgather(&mine, 1, MPI_INT64_T, rss.data(), 1, MPI_INT64_T, comm_);
    MPI_Allgather(&baseline, 1, MPI_INT64_T, base.data(), 1, MPI_INT64_T, comm_);
    std::string line = "  preprocess steps (s):";
    for (size_t i = 0; i < t.size(); ++i) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " %s %.3f", steps_[i].first.c_str(), t[i]);
      line += buf;
      StageRecord r;
      r.stage = "preprocess." + steps_[i].first;
      r.wall_seconds = t[i];
      r.peak_rss_bytes = rss;
      r.baseline_rss_bytes = base;
      r.cells = d.n_obs;
      r.genes = d.n_vars;
      r.ranks = ranks;
      Timings::get().add(r);
    }
    log().info(line);
  }

 private:
  static double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
  MPI_Comm comm_;
  double last_, last_cpu_;
  std::vector<std::pair<std::string, double>> steps_;
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string layer_key(const std::string& name) { return name == "X" ? "X" : "layers/" + name; }

// NaN/Inf, negative and non-integer values of a count layer, with the first offending cell.
void check_counts(const Dataset& d, const std::string& name, bool allow_non_integer) {
  const CsrMatrix& m = std::get<CsrMatrix>(d.layer(name));
  int64_t bad[3] = {0, 0, 0};           // non-finite, negative, non-integer
  int64_t first[3] = {INT64_MAX, INT64_MAX, INT64_MAX};
  visit_csr(m, [&](const int64_t* indptr, const auto*, const auto* val) {
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const double v = static_cast<double>(val[k]);
        const int kind = !std::isfinite(v) ? 0 : v < 0 ? 1 : v != std::floor(v) ? 2 : -1;
        if (kind < 0) continue;
        if (bad[kind]++ == 0) first[kind] = d.obs_begin + i;
      }
  });
  MPI_Allreduce(MPI_IN_PLACE, bad, 3, MPI_INT64_T, MPI_SUM, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, first, 3, MPI_INT64_T, MPI_MIN, d.comm);
  const std::string key = layer_key(name);
  if (bad[0] || bad[1]) {
    const int kind = bad[0] ? 0 : 1;
    fail(d.source, key,
         "expected raw counts but found " + std::to_string(bad[kind]) + (kind == 0 ? " NaN/Inf" : " negative") +
             " value(s) (first in cell " + std::to_string(first[kind]) + "); the monocle recipe needs unnormalised counts");
  }
  if (bad[2] && !allow_non_integer)
    fail(d.source, key,
         "the monocle recipe's filters and size factors take integer counts, but this layer has " + std::to_string(bad[2]) +
             " non-integer value(s) (first in cell " + std::to_string(first[2]) +
             "): it looks normalised already. Pass raw counts, or set allow_non_integer_counts = true to treat the values as counts");
  if (bad[2]) log().warn(describe(d.source, key, std::to_string(bad[2]) + " non-integer count(s), treated as counts (allow_non_integer_counts)"));
}

struct RowStats {
  std::vector<double> sum;        // per local row
  std::vector<int64_t> expressed; // values > 0 per local row
};

RowStats row_stats(const CsrMatrix& m) {
  RowStats s;
  s.sum.assign(static_cast<size_t>(m.rows), 0.0);
  s.expressed.assign(static_cast<size_t>(m.rows), 0);
  visit_csr(m, [&](const int64_t* indptr, const auto*, const auto* val) {
    for (int64_t i = 0; i < m.rows; ++i) {
      double sum = 0;
      int64_t e = 0;
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        sum += static_cast<double>(val[k]);
        e += val[k] > 0;
      }
      s.sum[static_cast<size_t>(i)] = sum;
      s.expressed[static_cast<size_t>(i)] = e;
    }
  });
  return s;
}

// Per-gene sums over all cells: Σx and the count of cells with x > 0.
struct ColumnStats {
  std::vector<double> sum, expressed;
};

ColumnStats column_stats(MPI_Comm comm, const CsrMatrix& m) {
  const size_t G = static_cast<size_t>(m.cols);
  std::vector<double> buf(G * 2, 0.0);
  double* sum = buf.data();
  double* expressed = sum + G;
  visit_csr(m, [&](const int64_t* indptr, const auto* idx, const auto* val) {
    const int64_t nnz = indptr[m.rows];
    for (int64_t k = 0; k < nnz; ++k) {
      const double v = static_cast<double>(val[k]);
      const size_t j = static_cast<size_t>(idx[k]);
      sum[j] += v;
      expressed[j] += v > 0;
    }
  });
  reduce_sum_identical(comm, buf.data(), static_cast<int64_t>(buf.size()));
  ColumnStats s;
  s.sum.assign(sum, sum + G);
  s.expressed.assign(expressed, expressed + G);
  return s;
}

// Column sums of x and x² that do not depend on how the cells are split over ranks: each value is
// rounded to a multiple of 2^-32 and summed in 128-bit integers, which is exact and so
// order-free. The SVR fit downstream is discontinuous in its inputs (libsvm stops at a tolerance),
// so its inputs must be the same bits at any rank count for the scores to be.
__extension__ typedef __int128 Int128;

void sum_int128(void* in, void* inout, int* len, MPI_Datatype*) {
  const Int128* a = static_cast<const Int128*>(in);
  Int128* b = static_cast<Int128*>(inout);
  for (int i = 0; i < *len; ++i) b[i] += a[i];
}

void exact_column_moments(MPI_Comm comm, const CsrMatrix& m, std::vector<double>& sum, std::vector<double>& sum_sq) {
  const size_t G = static_cast<size_t>(m.cols);
  constexpr double scale = 4294967296.0;   // 2^32
  std::vector<Int128> acc(2 * G, 0);
  visit_csr(m, [&](const int64_t* indptr, const auto* idx, const auto* val) {
    const int64_t nnz = indptr[m.rows];
    for (int64_t k = 0; k < nnz; ++k) {
      const double v = static_cast<double>(val[k]);
      const size_t j = static_cast<size_t>(idx[k]);
      acc[j] += static_cast<Int128>(std::nearbyint(v * scale));
      acc[G + j] += static_cast<Int128>(std::nearbyint(v * v * scale));
    }
  });
  MPI_Datatype int128_type;
  MPI_Type_contiguous(16, MPI_BYTE, &int128_type);
  MPI_Type_commit(&int128_type);
  MPI_Op op;
  MPI_Op_create(&sum_int128, 1, &op);
  MPI_Allreduce(MPI_IN_PLACE, acc.data(), static_cast<int>(acc.size()), int128_type, op, comm);
  MPI_Op_free(&op);
  MPI_Type_free(&int128_type);
  sum.resize(G);
  sum_sq.resize(G);
  for (size_t j = 0; j < G; ++j) {
    sum[j] = static_cast<double>(acc[j]) / scale;
    sum_sq[j] = static_cast<double>(acc[G + j]) / scale;
  }
}

// numpy's median (mean of the two middle values for even counts) of a distributed vector.
double global_median(MPI_Comm comm, const std::vector<double>& local) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int n_local = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  MPI_Gather(&n_local, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  std::vector<double> all;
  if (rank == 0) {
    for (int r = 1; r < size; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
    all.resize(static_cast<size_t>(displs.back() + counts.back()));
  }
  MPI_Gatherv(local.data(), n_local, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0, comm);
  double median = 0;
  if (rank == 0 && !all.empty()) {
    const size_t h = all.size() / 2;
    std::nth_element(all.begin(), all.begin() + static_cast<int64_t>(h), all.end());
    median = all[h];
    if (all.size() % 2 == 0) median = 0.5 * (median + *std::max_element(all.begin(), all.begin() + static_cast<int64_t>(h)));
  }
  MPI_Bcast(&median, 1, MPI_DOUBLE, 0, comm);
  return median;
}

Column f64_column(const std::vector<double>& v) { return Column::numeric(Array::from(v)); }

Column bool_column(const std::vector<uint8_t>& v) { return Column::numeric(Array::from(v, DType::boolean)); }

Column i64_column(const std::vector<int64_t>& v) { return Column::numeric(Array::from(v)); }

UnsNode bool_scalar(bool v) {
  UnsNode n;
  n.kind = UnsNode::Kind::numeric;
  n.array.values = Array::from(std::vector<uint8_t>{static_cast<uint8_t>(v)}, DType::boolean);
  return n;
}

UnsNode f64_array(const std::vector<double>& v, std::vector<int64_t> shape) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(v);
  return UnsNode::numeric(std::move(a));
}

// Row i of a CSR block scaled by factor[i]: out = float(double(x) · (1 / sf)), as sklearn's
// inplace row scale does on float32 data.
void scale_rows(CsrMatrix& m, const std::vector<double>& size_factor) {
  visit_csr_values(m, [&](auto* val) {
    using T = std::remove_pointer_t<decltype(val)>;
    for (int64_t i = 0; i < m.rows; ++i) {
      const double inv = 1.0 / size_factor[static_cast<size_t>(i)];
      for (int64_t k = m.indptr[static_cast<size_t>(i)]; k < m.indptr[static_cast<size_t>(i + 1)]; ++k)
        val[k] = static_cast<T>(static_cast<double>(val[k]) * inv);
    }
  });
}

// Size factors of one layer: c_i (0 → 1) / median(c); non-finite → 1.
std::vector<double> size_factors(MPI_Comm comm, const std::vector<double>& cell_size) {
  std::vector<double> c(cell_size);
  for (double& v : c)
    if (v == 0) v = 1;
  const double median = global_median(comm, c);
  for (double& v : c) {
    v /= median;
    if (!std::isfinite(v)) v = 1;
  }
  return c;
}

}  // namespace

void preprocess_monocle(Dataset& d, const PreprocessOptions& o) {
  StepClock clock(d.comm);
  // ---- inputs -------------------------------------------------------------------------------
  for (const char* needed : {"spliced", "unspliced"})
    if (!d.layers.count(needed)) {
      std::string have;
      for (const auto& kv : d.layers) have += (have.empty() ? "" : ", ") + kv.first;
      fail(d.source, std::string("layers/") + needed,
           std::string("layer not present (this file has layers: ") + (have.empty() ? "none" : have) +
               "); the monocle recipe needs raw spliced and unspliced counts (velocyto/STARsolo/alevin-fry output)");
    }
  if (o.n_top_genes < 1) throw Error("preprocess: n_top_genes must be at least 1 (got " + std::to_string(o.n_top_genes) + ")");
  if (o.n_pca_components < 1) throw Error("preprocess: n_pca_components must be at least 1 (got " + std::to_string(o.n_pca_components) + ")");
  if (d.n_obs == 0) fail(d.source, "obs", "the dataset has no cells");
  if (!d.X) {
    log().info("  X absent: using the spliced counts as X (as dynamo does for velocyto output)");
    d.X = d.layers.at("spliced");
  }
  for (const char* name : {"X", "spliced", "unspliced"}) {
    Matrix& m = d.layer(name);
    make_csr_float(m);
    if (matrix_cols(m) != d.n_vars)
      fail(d.source, layer_key(name), "has " + std::to_string(matrix_cols(m)) + " columns for " + std::to_string(d.n_vars) + " genes");
  }
  for (const char* name : {"X", "spliced", "unspliced"}) check_counts(d, name, o.allow_non_integer_counts);
  clock.mark("checks");

  // ---- basic statistics of raw X and the cell filter ------------------------------------------
  const double G = static_cast<double>(d.n_vars);
  {
    const CsrMatrix& X = std::get<CsrMatrix>(*d.X);
    RowStats xs = row_stats(X);
    // pMito: counts of genes whose upper-cased name starts with MT-.
    std::vector<uint8_t> mito(static_cast<size_t>(d.n_vars), 0);
    bool any_mito = false;
    for (int64_t j = 0; j < d.n_vars; ++j) {
      const std::string& name = d.var.index[static_cast<size_t>(j)];
      if (name.size() >= 3 && std::toupper(static_cast<unsigned char>(name[0])) == 'M' &&
          std::toupper(static_cast<unsigned char>(name[1])) == 'T' && name[2] == '-')
        mito[static_cast<size_t>(j)] = 1, any_mito = true;
    }
    std::vector<double> p_mito(static_cast<size_t>(X.rows), 0.0);
    if (any_mito)
      visit_csr(X, [&](const int64_t* indptr, const auto* idx, const auto* val) {
        for (int64_t i = 0; i < X.rows; ++i) {
          double m = 0;
          for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k)
            if (mito[static_cast<size_t>(idx[k])]) m += static_cast<double>(val[k]);
          p_mito[static_cast<size_t>(i)] = m / xs.sum[static_cast<size_t>(i)];
        }
      });
    std::vector<int64_t> n_genes(static_cast<size_t>(X.rows));
    for (int64_t i = 0; i < X.rows; ++i)
      n_genes[static_cast<size_t>(i)] = X.indptr[static_cast<size_t>(i + 1)] - X.indptr[static_cast<size_t>(i)];
    d.obs.set("nGenes", i64_column(n_genes));
    d.obs.set("nCounts", f64_column(xs.sum));
    d.obs.set("pMito", f64_column(p_mito));
    ColumnStats xc = column_stats(d.comm, X);
    std::vector<int64_t> n_cells(static_cast<size_t>(d.n_vars));
    // nCells counts stored entries (dynamo's nnz); count layers hold no explicit zeros in practice.
    {
      std::vector<double> nnz(static_cast<size_t>(d.n_vars), 0.0);
      visit_csr(X, [&](const int64_t* indptr, const auto* idx, const auto*) {
        for (int64_t k = 0; k < indptr[X.rows]; ++k) nnz[static_cast<size_t>(idx[k])] += 1;
      });
      reduce_sum_identical(d.comm, nnz.data(), d.n_vars);
      for (size_t j = 0; j < nnz.size(); ++j) n_cells[j] = static_cast<int64_t>(nnz[j]);
    }
    d.var.set("nCells", i64_column(n_cells));
    d.var.set("nCounts", f64_column(xc.sum));

    const double min_s = o.min_expr_genes_s >= 0 ? o.min_expr_genes_s : std::min(50.0, 0.01 * G);
    const double min_u = o.min_expr_genes_u >= 0 ? o.min_expr_genes_u : std::min(25.0, 0.01 * G);
    RowStats ss = row_stats(std::get<CsrMatrix>(d.layers.at("spliced")));
    RowStats us = row_stats(std::get<CsrMatrix>(d.layers.at("unspliced")));
    std::vector<uint8_t> keep(static_cast<size_t>(d.n_obs_local), 1);
    int64_t kept = 0;
    for (size_t i = 0; i < keep.size(); ++i) {
      keep[i] = static_cast<double>(xs.expressed[i]) >= min_s && static_cast<double>(ss.expressed[i]) >= min_s &&
                static_cast<double>(us.expressed[i]) >= min_u;
      kept += keep[i];
    }
    MPI_Allreduce(MPI_IN_PLACE, &kept, 1, MPI_INT64_T, MPI_SUM, d.comm);
    if (kept == 0)
      fail(d.source, "obs",
           "all " + std::to_string(d.n_obs) + " cells fail the basic cell filter (each needs >= " + num(min_s) +
               " expressed genes in X and spliced and >= " + num(min_u) +
               " in unspliced); nothing is left to analyse. Check that the layers hold per-cell counts, or lower "
               "min_expr_genes_s / min_expr_genes_u");
    d.obs.set("pass_basic_filter", bool_column(keep));
    const double t_subset = MPI_Wtime();
    const SubsetCellsReport report = subset_cells(d, keep);
    log().detail(cat("preprocess: subset_cells took ", MPI_Wtime() - t_subset, " s"));
    log().info("  cell filter: " + std::to_string(report.removed) + " of " + std::to_string(report.removed + report.kept) +
               " cells removed (min genes: X/spliced " + num(min_s) + ", unspliced " + num(min_u) + ")");
  }
  const double N = static_cast<double>(d.n_obs);
  CsrMatrix& X = std::get<CsrMatrix>(*d.X);
  CsrMatrix& S = std::get<CsrMatrix>(d.layers.at("spliced"));
  CsrMatrix& U = std::get<CsrMatrix>(d.layers.at("unspliced"));

  // ---- gene filter (flags only) ----------------------------------------------------------------
  std::vector<uint8_t> gene_pass(static_cast<size_t>(d.n_vars), 1);
  ColumnStats s_cols, u_cols;
  {
    const double min_cell_s = o.min_cell_s >= 0 ? o.min_cell_s : std::max(5.0, 0.01 * N);
    const double min_cell_u = o.min_cell_u >= 0 ? o.min_cell_u : std::max(5.0, 0.005 * N);
    ColumnStats x_cols = column_stats(d.comm, X);
    s_cols = column_stats(d.comm, S);
    u_cols = column_stats(d.comm, U);
    // Shared count: Σ over cells with s > 0 and u > 0 of (s + u), by merging the two sorted rows.
    std::vector<double> shared(static_cast<size_t>(d.n_vars), 0.0);
    visit_csr(S, [&](const int64_t* sp, const auto* si, const auto* sv) {
      visit_csr(U, [&](const int64_t* up, const auto* ui, const auto* uv) {
        for (int64_t i = 0; i < S.rows; ++i) {
          int64_t a = sp[i], b = up[i];
          const int64_t ae = sp[i + 1], be = up[i + 1];
          while (a < ae && b < be) {
            const int64_t ca = static_cast<int64_t>(si[a]), cb = static_cast<int64_t>(ui[b]);
            if (ca < cb) ++a;
            else if (cb < ca) ++b;
            else {
              if (sv[a] > 0 && uv[b] > 0) shared[static_cast<size_t>(ca)] += static_cast<double>(sv[a]) + static_cast<double>(uv[b]);
              ++a, ++b;
            }
          }
        }
      });
    });
    reduce_sum_identical(d.comm, shared.data(), d.n_vars);
    int64_t passing = 0;
    for (size_t j = 0; j < gene_pass.size(); ++j) {
      gene_pass[j] = x_cols.expressed[j] >= min_cell_s && s_cols.expressed[j] >= min_cell_s &&
                     u_cols.expressed[j] >= min_cell_u && shared[j] >= o.shared_count;
      passing += gene_pass[j];
    }
    d.var.set("pass_basic_filter", bool_column(gene_pass));
    log().info("  gene filter: " + std::to_string(passing) + " of " + std::to_string(d.n_vars) + " genes pass");
  }
  clock.mark("filters");

  // ---- size factors and normalisation ----------------------------------------------------------
  RowStats x_rows = row_stats(X), s_rows = row_stats(S), u_rows = row_stats(U);
  {
    const std::vector<double> sf_x = size_factors(d.comm, x_rows.sum);
    const std::vector<double> sf_s = size_factors(d.comm, s_rows.sum);
    const std::vector<double> sf_u = size_factors(d.comm, u_rows.sum);
    d.obs.set("Size_Factor", f64_column(sf_x));
    d.obs.set("initial_cell_size", f64_column(x_rows.sum));
    d.obs.set("spliced_Size_Factor", f64_column(sf_s));
    d.obs.set("initial_spliced_cell_size", f64_column(s_rows.sum));
    d.obs.set("unspliced_Size_Factor", f64_column(sf_u));
    d.obs.set("initial_unspliced_cell_size", f64_column(u_rows.sum));
    scale_rows(X, sf_x);
    CsrMatrix xs = S, xu = U;
    scale_rows(xs, sf_s);
    scale_rows(xu, sf_u);
    d.layers["X_spliced"] = std::move(xs);
    d.layers["X_unspliced"] = std::move(xu);
  }
  clock.mark("size_factors");

  // ---- feature selection (SVR on log mean vs log CV of normalised X) ---------------------------
  {
    std::vector<double> col_sum, col_sum_sq;
    exact_column_moments(d.comm, X, col_sum, col_sum_sq);
    std::vector<double> mean(col_sum.size()), mean_sq(col_sum.size());
    double total = 0;
    for (size_t j = 0; j < mean.size(); ++j) {
      mean[j] = col_sum[j] / N;
      mean_sq[j] = col_sum_sq[j] / N;
      total += col_sum[j];
    }
    SvrOptions so;
    so.gamma = o.svr_gamma;
    const GeneSelection sel = select_genes_by_svr(mean, mean_sq, gene_pass, o.n_top_genes, so);
    if (d.n_vars <= o.n_top_genes)
      log().info("  gene selection: " + std::to_string(d.n_vars) + " genes <= n_top_genes = " + std::to_string(o.n_top_genes) +
                 ": all are candidates for PCA (dynamo's rule)");
    d.var.set("log_m", f64_column(sel.log_m));
    d.var.set("log_cv", f64_column(sel.log_cv));
    d.var.set("score", f64_column(sel.score));
    d.var.set("use_for_pca", bool_column(sel.use_for_pca));
    std::vector<double> frac(col_sum.size());
    for (size_t j = 0; j < frac.size(); ++j) frac[j] = col_sum[j] / total;
    d.var.set("frac", f64_column(frac));
    UnsNode svr = UnsNode::dict();
    svr["mean"] = f64_array(sel.fit_log_m, {static_cast<int64_t>(sel.fit_log_m.size()), 1});
    svr["cv"] = f64_array(sel.fit_log_cv, {static_cast<int64_t>(sel.fit_log_cv.size())});
    svr["svr_gamma"] = UnsNode::scalar(sel.svr_gamma);
    d.uns["velocyto_SVR"] = svr;
    d.uns["feature_selection"] = UnsNode::string("cv_dispersion");
  }
  clock.mark("gene_selection");

  // ---- log1p of X only ------------------------------------------------------------------------
  visit_csr_values(X, [&](auto* val) {
    using T = std::remove_pointer_t<decltype(val)>;
    const int64_t nnz = X.nnz();
    // In the values' own precision, as numpy's log1p on dynamo's float32 X.
    for (int64_t k = 0; k < nnz; ++k) val[k] = static_cast<T>(std::log1p(val[k]));
  });
  clock.mark("log1p");

  // ---- PCA on the selected genes --------------------------------------------------------------
  {
    Column& use_col = d.var.columns.at("use_for_pca");
    uint8_t* use = use_col.values.data<uint8_t>();
    ColumnStats lx = column_stats(d.comm, X);
    std::vector<int64_t> genes;
    int64_t dropped = 0;
    for (int64_t j = 0; j < d.n_vars; ++j) {
      if (!use[j]) continue;
      if (!(lx.sum[static_cast<size_t>(j)] > 0) || !std::isfinite(lx.sum[static_cast<size_t>(j)])) {
        use[j] = 0;
        ++dropped;
        continue;
      }
      genes.push_back(j);
    }
    if (dropped) log().info("  PCA: " + std::to_string(dropped) + " selected genes have no expression left and are not used");
    const int64_t usable = std::min<int64_t>(d.n_obs, static_cast<int64_t>(genes.size())) - 1;
    if (o.n_pca_components > usable)
      fail(d.source, "var/use_for_pca",
           "n_pca_components = " + std::to_string(o.n_pca_components) + " needs at least " +
               std::to_string(o.n_pca_components + 1) + " expressed selected genes and cells, but there are " +
               std::to_string(genes.size()) + " genes and " + std::to_string(d.n_obs) +
               " cells: lower n_pca_components (at most " + std::to_string(std::max<int64_t>(usable, 0)) + ") or keep more genes");
    PcaOptions po;
    po.n_components = o.n_pca_components;
    po.solver = o.pca_solver;
    PcaResult pca = centered_pca(d.comm, d.n_obs, X, genes, po);
    log().info("  PCA: " + std::to_string(o.n_pca_components) + " components of " + std::to_string(genes.size()) + " genes, solver " +
               pca.solver + ", " + std::to_string(pca.applies) + " operator applications, relative residual " +
               num(pca.relative_residual));
    const int64_t k = o.n_pca_components;
    d.obsm["X_pca"] = std::move(pca.x_pca);
    d.uns["PCs"] = f64_array(pca.components, {static_cast<int64_t>(genes.size()), k});
    d.uns["explained_variance_ratio_"] = f64_array(pca.explained_variance_ratio, {k});
    d.uns["pca_mean"] = f64_array(pca.mean, {static_cast<int64_t>(genes.size())});
  }
  clock.mark("pca");

  // ---- new-to-total ratio ------------------------------------------------------------------------
  {
    std::vector<double> obs_ntr(static_cast<size_t>(d.n_obs_local)), var_ntr(static_cast<size_t>(d.n_vars));
    for (size_t i = 0; i < obs_ntr.size(); ++i) obs_ntr[i] = u_rows.sum[i] / (u_rows.sum[i] + s_rows.sum[i]);
    for (size_t j = 0; j < var_ntr.size(); ++j) var_ntr[j] = u_cols.sum[j] / (u_cols.sum[j] + s_cols.sum[j]);
    d.obs.set("ntr", f64_column(obs_ntr));
    d.var.set("ntr", f64_column(var_ntr));
  }

  // ---- cell cycle ---------------------------------------------------------------------------------
  if (o.cell_cycle_score_enable) {
    CellCycleResult cc = score_cell_cycle(d.comm, d.n_obs, d.obs_begin, X, d.var.index, o.cell_cycle_threshold);
    if (!cc.scored) {
      log().warn("preprocess: cell-cycle scoring skipped: " + cc.skipped_because + " (dynamo skips it with a warning too)");
    } else {
      std::vector<std::string> names;
      for (const auto& p : cell_cycle_phases()) names.push_back(p.name);
      d.obs.set("cell_cycle_phase", Column::categorical(Array::from(cc.phase), names));
      d.obs.set("cell_cycle_progress", f64_column(cc.progress));
      d.obs.set("cell_cycle_order", f64_column(cc.order));
      d.obsm["cell_cycle_scores"] = std::move(cc.scores);
      d.uns["cell_phase_order"] = UnsNode::string_array(names);
      UnsNode genes = UnsNode::dict();
      for (size_t p = 0; p < names.size(); ++p) genes[names[p]] = UnsNode::string_array(cc.genes[p]);
      d.uns["cell_phase_genes"] = genes;
    }
  }
  clock.mark("ntr_cell_cycle");

  UnsNode pp = UnsNode::dict();
  pp["experiment_type"] = UnsNode::string("conventional");
  pp["has_splicing"] = bool_scalar(true);
  pp["has_labeling"] = bool_scalar(false);
  pp["has_protein"] = bool_scalar(false);
  pp["X_norm_method"] = UnsNode::string("log1p");
  pp["norm_method"] = UnsNode::string("log1p");
  pp["recipe"] = UnsNode::string("monocle");
  d.uns["pp"] = pp;
  clock.finish(d);
}

Stage preprocess_stage() {
  Stage s;
  s.name = "preprocess";
  s.summary = "dynamo's monocle recipe: cell/gene filters, size factors, normalisation, SVR gene selection, log1p, PCA, "
              "ntr, cell-cycle scores";
  s.keys = {
      {"n_top_genes", "2000", "genes selected for PCA by the SVR dispersion score (all genes when the data has fewer)"},
      {"n_pca_components", "30", "principal components (obsm X_pca)"},
      {"cell_cycle_score_enable", "true", "score the cell-cycle phases (obs cell_cycle_phase, obsm cell_cycle_scores)"},
      {"cell_cycle_threshold", "0.3", "markers must correlate at least this much with their phase average"},
      {"min_expr_genes_s", "auto", "cell filter: min genes expressed in X and spliced (auto: min(50, 0.01 * genes))"},
      {"min_expr_genes_u", "auto", "cell filter: min genes expressed in unspliced (auto: min(25, 0.01 * genes))"},
      {"min_cell_s", "auto", "gene filter: min cells expressing it in X and spliced (auto: max(5, 0.01 * cells))"},
      {"min_cell_u", "auto", "gene filter: min cells expressing it in unspliced (auto: max(5, 0.005 * cells))"},
      {"shared_count", "30", "gene filter: min sum of spliced + unspliced over cells where both are > 0"},
      {"svr_gamma", "auto", "RBF gamma of the SVR (auto: 150 / genes in the fit)"},
      {"pca_solver", "auto", "auto | gram (dense genes x genes covariance) | krylov (sparse operator); see docs/preprocess.md"},
      {"allow_non_integer_counts", "false", "treat non-integer count layers as counts instead of stopping"},
  };
  s.run = [](Dataset& d, const StageConfig& c) {
    auto number_or_auto = [&](const std::string& key) {
      const std::string v = c.get_string(key);
      return v == "auto" ? -1.0 : c.get_double(key);
    };
    PreprocessOptions o;
    o.n_top_genes = c.get_int("n_top_genes");
    o.n_pca_components = static_cast<int>(c.get_int("n_pca_components"));
    o.cell_cycle_score_enable = c.get_bool("cell_cycle_score_enable");
    o.cell_cycle_threshold = c.get_double("cell_cycle_threshold");
    o.min_expr_genes_s = number_or_auto("min_expr_genes_s");
    o.min_expr_genes_u = number_or_auto("min_expr_genes_u");
    o.min_cell_s = number_or_auto("min_cell_s");
    o.min_cell_u = number_or_auto("min_cell_u");
    o.shared_count = c.get_double("shared_count");
    o.svr_gamma = number_or_auto("svr_gamma");
    o.pca_solver = c.get_string("pca_solver");
    if (o.pca_solver != "auto" && o.pca_solver != "gram" && o.pca_solver != "krylov")
      throw Error(c.config().where("preprocess", "pca_solver") + ": '" + o.pca_solver + "' is not a PCA solver (auto, gram, krylov)");
    o.allow_non_integer_counts = c.get_bool("allow_non_integer_counts");
    preprocess_monocle(d, o);
  };
  return s;
}

}  // namespace velofield
