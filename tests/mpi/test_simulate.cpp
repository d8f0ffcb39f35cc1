// `velofield simulate` against its own model (issue 3 acceptance): noise-free abundances are the
// closed-form kinetics, so finite differences along true time give the stored true velocity; sampled
// counts have the model's means; the data and the file do not depend on the rank count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/config.hpp"
#include "core/error.hpp"
#include "io/h5ad.hpp"
#include "simulate/simulate_source.hpp"
#include "simulate/simulator.hpp"
#include "simulate/tree_model.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

SimulationOptions small(uint64_t seed) {
  SimulationOptions o;
  o.n_cells = 900;
  o.n_genes = 40;
  o.n_lineages = 2;
  o.seed = seed;
  return o;
}

// Value of a CSR/dense layer at (local row, column) as double.
double value_at(const Matrix& m, int64_t r, int64_t c) {
  if (const auto* csr = std::get_if<CsrMatrix>(&m)) {
    for (int64_t k = csr->indptr[static_cast<size_t>(r)]; k < csr->indptr[static_cast<size_t>(r + 1)]; ++k)
      if (csr->index(k) == c) return csr->data.as_double(static_cast<size_t>(k));
    return 0.0;
  }
  const DenseArray& d = std::get<DenseArray>(m);
  return d.values.as_double(static_cast<size_t>(r * d.row_stride() + c));
}

// Rows [begin, begin + n) of a matrix, for comparing a rank's block with the one-rank dataset.
Matrix rows_of(const Matrix& m, int64_t begin, int64_t n) {
  if (const auto* csr = std::get_if<CsrMatrix>(&m)) {
    CsrMatrix out = *csr;
    const int64_t k0 = csr->indptr[static_cast<size_t>(begin)], k1 = csr->indptr[static_cast<size_t>(begin + n)];
    out.rows = n;
    out.indptr.assign(csr->indptr.begin() + begin, csr->indptr.begin() + begin + n + 1);
    for (auto& p : out.indptr) p -= k0;
    out.indices = Array(csr->indices.dtype(), static_cast<size_t>(k1 - k0));
    out.data = Array(csr->data.dtype(), static_cast<size_t>(k1 - k0));
    const size_t is = dtype_size(csr->indices.dtype()), ds = dtype_size(csr->data.dtype());
    std::memcpy(out.indices.raw(), static_cast<const char*>(csr->indices.raw()) + k0 * is, static_cast<size_t>(k1 - k0) * is);
    std::memcpy(out.data.raw(), static_cast<const char*>(csr->data.raw()) + k0 * ds, static_cast<size_t>(k1 - k0) * ds);
    return out;
  }
  const DenseArray& d = std::get<DenseArray>(m);
  DenseArray out = d;
  out.shape[0] = n;
  const size_t row_bytes = static_cast<size_t>(d.row_stride()) * dtype_size(d.values.dtype());
  out.values = Array(d.values.dtype(), static_cast<size_t>(n * d.row_stride()));
  std::memcpy(out.values.raw(), static_cast<const char*>(d.values.raw()) + begin * row_bytes, static_cast<size_t>(n) * row_bytes);
  return out;
}

Column column_rows(const Column& c, int64_t begin, int64_t n) {
  Column out = c;
  const size_t es = dtype_size(c.values.dtype());
  out.values = Array(c.values.dtype(), static_cast<size_t>(n));
  std::memcpy(out.values.raw(), static_cast<const char*>(c.values.raw()) + begin * es, static_cast<size_t>(n) * es);
  return out;
}

// "" when `part` (this rank's block of a distributed dataset) equals the same rows of `whole` (the
// dataset generated on one rank); otherwise the first slot that differs. Not collective.
std::string block_difference(const Dataset& whole, const Dataset& part) {
  const int64_t b = part.obs_begin, n = part.n_obs_local;
  if (whole.n_obs != part.n_obs || whole.n_vars != part.n_vars) return "shape";
  if (!(whole.var == part.var)) return "var";
  if (whole.uns != part.uns) return "uns";
  if (!(rows_of(*whole.X, b, n) == *part.X)) return "X";
  if (whole.layers.size() != part.layers.size() || whole.obsm.size() != part.obsm.size()) return "slot lists";
  for (const auto& [k, m] : whole.layers)
    if (!(rows_of(m, b, n) == part.layers.at(k))) return "layers/" + k;
  for (const auto& [k, m] : whole.obsm)
    if (!(rows_of(m, b, n) == part.obsm.at(k))) return "obsm/" + k;
  if (!std::equal(part.obs.index.begin(), part.obs.index.end(), whole.obs.index.begin() + b)) return "obs names";
  if (whole.obs.column_order != part.obs.column_order) return "obs columns";
  for (const auto& [k, c] : whole.obs.columns)
    if (!(column_rows(c, b, n) == part.obs.columns.at(k))) return "obs/" + k;
  // The index dtype in the file follows the global nnz on every rank count.
  for (const auto& [k, m] : whole.layers)
    if (const auto* csr = std::get_if<CsrMatrix>(&m))
      if (csr->file_indptr_dtype != std::get<CsrMatrix>(part.layers.at(k)).file_indptr_dtype) return "layers/" + k + " indptr dtype";
  return "";
}

bool all_ranks(bool ok) {
  int v = ok ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return v == 1;
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(Simulate, NoiseFreeFiniteDifferencesMatchTrueVelocity) {
  // One rank's view of the whole dataset: finite differences need each cell's neighbours in time
  // (rank independence is checked below, on the same code path).
  SimulationOptions o = small(11);
  o.n_cells = 6000;
  o.n_genes = 30;
  o.noise_free = true;
  const Dataset d = simulate(MPI_COMM_SELF, o);
  const Matrix& s = d.layer("spliced");
  const Matrix& u = d.layer("unspliced");
  const Matrix& v = d.layer("true_velocity_S");
  const double* time = d.obs.columns.at("true_time").values.data<double>();
  const Column& lineage = d.obs.columns.at("lineage");
  const double* beta = d.var.columns.at("true_beta").values.data<double>();
  const double* alpha_on = d.var.columns.at("true_alpha_on").values.data<double>();
  const double* onset = d.var.columns.at("true_onset_time").values.data<double>();
  const double* switch_time = d.var.columns.at("true_switch_time").values.data<double>();
  // Cells of one path sorted by time. For each cell i, the nearest cells at least h = 0.005 before
  // and after it give a three-point derivative at i, accurate to O(h²) (~1e-5 here); the gap keeps
  // the float32 rounding of the stored values (~6e-8 relative) from being amplified by 1/h.
  // Stencils that straddle a switch of α (a kink in u and s) are left out.
  const double h = 0.005;
  double err_s = 0, norm_s = 0, err_u = 0, norm_u = 0;
  int64_t used = 0;
  for (int path = 0; path <= o.n_lineages; ++path) {
    std::vector<int64_t> cells;
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      if (lineage.values.as_int64(static_cast<size_t>(i)) == path) cells.push_back(i);
    std::sort(cells.begin(), cells.end(), [&](int64_t a, int64_t b) { return time[a] < time[b]; });
    size_t lo = 0, hi = 0;
    for (size_t k = 0; k < cells.size(); ++k) {
      const int64_t i = cells[k];
      const double ti = time[i];
      while (lo + 1 < k && time[cells[lo + 1]] <= ti - h) ++lo;
      while (hi < cells.size() && time[cells[hi]] < ti + h) ++hi;
      if (hi >= cells.size() || time[cells[lo]] > ti - h) continue;
      const int64_t a = cells[lo], b = cells[hi];
      const double ta = time[a], tb = time[b];
      for (int64_t g = 0; g < o.n_genes; ++g) {
        auto crosses = [&](double t_switch) { return std::isfinite(t_switch) && t_switch > ta && t_switch <= tb; };
        if (crosses(onset[g]) || crosses(switch_time[g])) continue;
        // Three-point derivative on an uneven grid.
        auto derivative = [&](const Matrix& m) {
          const double fa = value_at(m, a, g), fi = value_at(m, i, g), fb = value_at(m, b, g);
          const double h1 = ti - ta, h2 = tb - ti;
          return (-h2 / (h1 * (h1 + h2))) * fa + ((h2 - h1) / (h1 * h2)) * fi + (h1 / (h2 * (h1 + h2))) * fb;
        };
        const double ds = derivative(s), truth_s = value_at(v, i, g);
        err_s += (ds - truth_s) * (ds - truth_s);
        norm_s += truth_s * truth_s;
        // du/dt = α(t) − βu: α(t) from the var columns alone.
        const bool on = (std::isnan(onset[g]) || ti >= onset[g]) && ti < switch_time[g];
        const int gene_lineage = static_cast<int>(d.var.columns.at("true_lineage").values.as_int64(static_cast<size_t>(g)));
        const double alpha = on && (gene_lineage == 0 || gene_lineage == path) ? alpha_on[g] : 0.0;
        const double du = derivative(u), truth_u = alpha - beta[g] * value_at(u, i, g);
        err_u += (du - truth_u) * (du - truth_u);
        norm_u += truth_u * truth_u;
        ++used;
      }
    }
  }
  ASSERT_GT(used, 50000);
  const double rel_s = std::sqrt(err_s / norm_s), rel_u = std::sqrt(err_u / norm_u);
  EXPECT_LT(rel_s, 1e-3) << "relative error of ds/dt over " << used << " (cell, gene) pairs";
  EXPECT_LT(rel_u, 1e-3) << "relative error of du/dt over " << used << " (cell, gene) pairs";
}

TEST(Simulate, NoiseFreeLayersAreTheClosedForm) {
  SimulationOptions o = small(3);
  o.noise_free = true;
  const Dataset d = simulate(MPI_COMM_WORLD, o);
  const sim::TreeModel model(o);
  const Matrix& s = d.layer("spliced");
  const Matrix& v = d.layer("true_velocity_S");
  const double* time = d.obs.columns.at("true_time").values.data<double>();
  const Column& lineage = d.obs.columns.at("lineage");
  double worst = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i)
    for (int64_t g = 0; g < o.n_genes; ++g) {
      const int path = static_cast<int>(lineage.values.as_int64(static_cast<size_t>(i)));
      const sim::Abundance a = model.abundance(g, path, time[i]);
      const auto& k = model.genes()[static_cast<size_t>(g)];
      worst = std::max(worst, std::fabs(value_at(s, i, g) - a.s) / std::max(1e-3, a.s));
      worst = std::max(worst, std::fabs(value_at(v, i, g) - (k.beta * a.u - k.gamma * a.s)) /
                                  std::max(1e-3, std::fabs(k.beta * a.u - k.gamma * a.s)));
    }
  EXPECT_TRUE(all_ranks(worst < 1e-6)) << worst;   // float32 storage of the double closed form
  EXPECT_EQ(d.obs.columns.at("true_library_size").values.as_double(0), d.n_obs_local ? 1.0 : 1.0);
}

TEST(Simulate, CountMeansMatchTheModelWithinThreeStandardErrors) {
  for (const std::string noise : {"poisson", "nb"}) {
    SimulationOptions o = small(21);
    o.n_cells = 4000;
    o.n_genes = 60;
    o.noise = noise;
    o.density = 0.3;
    const Dataset d = simulate(MPI_COMM_WORLD, o);
    const sim::TreeModel model(o);
    const double* time = d.obs.columns.at("true_time").values.data<double>();
    const double* library = d.obs.columns.at("true_library_size").values.data<double>();
    const Column& lineage = d.obs.columns.at("lineage");
    // Per gene and layer: Σ observed, Σ model mean, Σ model variance over all cells (reduced).
    std::vector<double> sums(static_cast<size_t>(o.n_genes) * 6, 0.0);
    for (const std::string layer : {"spliced", "unspliced"}) {
      const Matrix& m = d.layer(layer);
      const size_t off = layer == "spliced" ? 0 : 3;
      for (int64_t i = 0; i < d.n_obs_local; ++i) {
        const int path = static_cast<int>(lineage.values.as_int64(static_cast<size_t>(i)));
        for (int64_t g = 0; g < o.n_genes; ++g) {
          const sim::Abundance a = model.abundance(g, path, time[i]);
          const double mean = library[i] * (layer == "spliced" ? a.s : a.u);
          const double var = noise == "nb" ? mean + mean * mean / o.nb_theta : mean;
          double* row = sums.data() + g * 6 + off;
          row[0] += value_at(m, i, g);
          row[1] += mean;
          row[2] += var;
        }
      }
    }
    MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    int outside = 0, tested = 0;
    double worst = 0, pooled_diff = 0, pooled_var = 0;
    for (int64_t g = 0; g < o.n_genes; ++g)
      for (size_t off : {size_t{0}, size_t{3}}) {
        const double* row = sums.data() + g * 6 + off;
        if (row[2] <= 0) continue;   // silent gene on this data: all zeros, checked below
        const double z = (row[0] - row[1]) / std::sqrt(row[2]);
        outside += std::fabs(z) > 3;
        worst = std::max(worst, std::fabs(z));
        pooled_diff += row[0] - row[1];
        pooled_var += row[2];
        ++tested;
      }
    // |z| > 3 has probability 0.27% per gene under the model: allow 2% of genes, none beyond 5.
    EXPECT_LE(outside, std::max(1, tested / 50)) << noise << ": " << outside << " of " << tested << " outside 3 SE";
    EXPECT_LT(worst, 5.0) << noise;
    EXPECT_LT(std::fabs(pooled_diff / std::sqrt(pooled_var)), 3.0) << noise << ": pooled over all genes";
    // The density target is met in expectation.
    EXPECT_NEAR(d.uns.at("simulation/spliced_density").array.values.as_double(0), 0.3, 0.015) << noise;
  }
}

TEST(Simulate, SameSeedSameDataAtAnyRankCountAndByteIdenticalFiles) {
  const std::string dir = test::temp_dir();
  for (const bool subset : {false, true}) {
    SimulationOptions o = small(7);
    o.noise = subset ? "nb" : "poisson";
    if (subset) o.truth_max_entries = o.n_cells * 10;   // true_velocity_S over 10 genes only
    const Dataset world = simulate(MPI_COMM_WORLD, o);
    const Dataset one = simulate(MPI_COMM_SELF, o);   // the same data generated by a single rank
    const std::string diff = block_difference(one, world);
    EXPECT_TRUE(all_ranks(diff.empty())) << "rank " << test::rank() << ": " << diff;
    if (subset) {
      const auto& t = std::get<CsrMatrix>(world.layer("true_velocity_S"));
      EXPECT_EQ(t.nnz(), world.n_obs_local * 10);
      EXPECT_EQ(world.uns.at("simulation/true_velocity_genes").array.values.size(), 10u);
    }
    // Files: written by all ranks, and by rank 0 alone; the bytes must agree.
    const std::string a = dir + "/world_" + std::to_string(subset) + ".h5ad", b = dir + "/one_" + std::to_string(subset) + ".h5ad";
    write_h5ad(world, a);
    int same = 1;
    if (test::rank() == 0) {
      write_h5ad(one, b);
      same = file_bytes(a) == file_bytes(b) && !file_bytes(a).empty();
    }
    MPI_Bcast(&same, 1, MPI_INT, 0, MPI_COMM_WORLD);
    EXPECT_EQ(same, 1) << a << " and " << b << " differ (cmp them)";
    // And the file reads back as the dataset that was written.
    const Dataset back = read_h5ad(a, MPI_COMM_WORLD);
    EXPECT_EQ(first_difference(back, world), "");
  }
  // A different seed gives different data.
  const Dataset s1 = simulate(MPI_COMM_WORLD, small(1)), s2 = simulate(MPI_COMM_WORLD, small(2));
  EXPECT_NE(first_difference(s1, s2), "");
}

TEST(Simulate, DatasetCarriesTheDocumentedSlots) {
  const Dataset d = simulate(MPI_COMM_WORLD, small(4));
  for (const char* k : {"true_time", "clusters", "lineage", "true_library_size"}) EXPECT_TRUE(d.obs.has(k)) << k;
  for (const char* k : {"true_alpha_on", "true_beta", "true_gamma", "true_switch_time"}) EXPECT_TRUE(d.var.has(k)) << k;
  EXPECT_EQ(d.obs.columns.at("true_time").values.dtype(), DType::f64);
  EXPECT_EQ(d.obs.columns.at("clusters").categories, (std::vector<std::string>{"root", "progenitor", "fate_1", "fate_2"}));
  EXPECT_EQ(d.obs.columns.at("lineage").categories, (std::vector<std::string>{"trunk", "lineage_1", "lineage_2"}));
  EXPECT_EQ(std::get<CsrMatrix>(d.layer("spliced")).data.dtype(), DType::f32);
  EXPECT_TRUE(*d.X == d.layer("spliced"));
  EXPECT_EQ(std::get<DenseArray>(d.layer("true_velocity_S")).values.dtype(), DType::f32);
  EXPECT_EQ(std::get<DenseArray>(d.obsm.at("X_true_2d")).shape, (std::vector<int64_t>{d.n_obs_local, 2}));
  EXPECT_EQ(d.uns.at("simulation/transitions").text, "root>progenitor,progenitor>fate_1,progenitor>fate_2");
  EXPECT_EQ(d.uns.at("simulation/seed").array.values.as_int64(0), 4);
  // Counts are whole numbers.
  const auto& s = std::get<CsrMatrix>(d.layer("spliced"));
  bool integral = true;
  for (size_t k = 0; k < s.data.size(); ++k) integral = integral && s.data.as_double(k) == std::floor(s.data.as_double(k));
  EXPECT_TRUE(integral);
}

TEST(Simulate, ConfigSectionUsesTheSameKeysAndRejectsUnknownOnes) {
  const Config good = Config::from_string("[simulate]\ncells = 500\ngenes = 12\nlineages = 3\nseed = 9\n", "run.ini");
  const Dataset d = simulate_from_config(MPI_COMM_WORLD, good);
  EXPECT_EQ(d.n_obs, 500);
  EXPECT_EQ(d.n_vars, 12);
  EXPECT_EQ(d.obs.columns.at("clusters").categories.size(), 5u);
  const Config bad = Config::from_string("[simulate]\ncells = 500\ngenez = 12\n", "run.ini");
  try {
    simulate_from_config(MPI_COMM_WORLD, bad);
    ADD_FAILURE() << "no error for an unknown key";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("run.ini [simulate]: genez: unknown key", 0), 0u) << e.what();
  }
}
