// Dataset::create's partition, summarize()'s text with global figures, first_difference() when
// one rank's slab differs, and validate_counts() agreeing on an error found on one rank.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/summary.hpp"
#include "data/validate.hpp"
#include "test_support.hpp"

using namespace velofield;
using velofield::test::all_gather;
using velofield::test::error_of;

namespace {

std::vector<int64_t> all_gather(int64_t v) {
  std::vector<int64_t> out(static_cast<size_t>(test::ranks()));
  MPI_Allgather(&v, 1, MPI_INT64_T, out.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
  return out;
}



// Pads to `width` bytes as printf's %-Ns does (the '×' is two bytes).
std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

struct Tweaks {
  int64_t obsp_cell = -1;         // global cell whose self-loop weight becomes obsp_value
  double obsp_value = 1.0;
};

// A small dataset whose every value depends only on the global cell index g:
//   X = layers/spliced: CSR float32, row g holds g % 3 entries, at columns (g + k) % n_vars, value g + k + 1
//   layers/unspliced: dense float32, (g * n_vars + j) % 4
//   obs/clusters: categorical int8, code g % 2 of {Ductal, Alpha}
//   obsm/X_pca: dense float64 (g, -g)
//   obsp/connectivities: self-loop 1.0 and an edge to (g + 1) % n_obs of weight 0.5
//   uns: clusters_colors, pca/variance_ratio, velocity_params/{mode, n_neighbors}
Dataset build(int64_t n_obs, int64_t n_vars, const Tweaks& tweaks = {}) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, n_obs, n_vars);
  d.source = "pancreas.h5ad";
  const int64_t rows = d.n_obs_local, first = d.obs_begin;

  CsrMatrix x = CsrMatrix::with_shape(rows, n_vars);
  std::vector<int32_t> indices;
  std::vector<float> values;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = first + r;
    for (int64_t k = 0; k < g % 3; ++k) {
      indices.push_back(static_cast<int32_t>((g + k) % n_vars));
      values.push_back(static_cast<float>(g + k + 1));
    }
    x.indptr[static_cast<size_t>(r + 1)] = static_cast<int64_t>(indices.size());
  }
  x.indices = Array::from(indices);
  x.data = Array::from(values);
  d.X = x;
  d.layers["spliced"] = x;

  DenseArray u = DenseArray::zeros({rows, n_vars}, DType::f32);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n_vars; ++j)
      u.values.data<float>()[r * n_vars + j] = static_cast<float>(((first + r) * n_vars + j) % 4);
  d.layers["unspliced"] = u;

  std::vector<int8_t> codes;
  for (int64_t r = 0; r < rows; ++r) codes.push_back(static_cast<int8_t>((first + r) % 2));
  d.obs.set("clusters", Column::categorical(Array::from(codes), {"Ductal", "Alpha"}));

  DenseArray pca = DenseArray::zeros({rows, 2});
  for (int64_t r = 0; r < rows; ++r) {
    pca.values.data<double>()[2 * r] = static_cast<double>(first + r);
    pca.values.data<double>()[2 * r + 1] = -static_cast<double>(first + r);
  }
  d.obsm["X_pca"] = pca;

  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> w;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = first + r, next = (g + 1) % n_obs;
    const double self = g == tweaks.obsp_cell ? tweaks.obsp_value : 1.0;
    if (next == g) {
      cols.push_back(g);
      w.push_back(self);
    } else if (next < g) {
      cols.insert(cols.end(), {next, g});
      w.insert(w.end(), {0.5, self});
    } else {
      cols.insert(cols.end(), {g, next});
      w.insert(w.end(), {self, 0.5});
    }
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  d.obsp.emplace("connectivities", DistMatrix::from_local_csr(MPI_COMM_WORLD, rows, n_obs, indptr, cols, w, DType::f32));

  d.uns["clusters_colors"] = UnsNode::string_array({"#ff0000", "#00ff00"});
  d.uns["pca"]["variance_ratio"] = UnsNode::numeric(DenseArray{{2}, Array::from(std::vector<double>{0.75, 0.25})});
  d.uns["velocity_params"]["mode"] = UnsNode::string("stochastic");
  d.uns["velocity_params"]["n_neighbors"] = UnsNode::scalar<int64_t>(30);
  return d;
}

// The local row of global cell g, or -1 when another rank holds it.
int64_t local_row(const Dataset& d, int64_t g) {
  return g >= d.obs_begin && g < d.obs_begin + d.n_obs_local ? g - d.obs_begin : -1;
}

CsrMatrix& spliced(Dataset& d) { return std::get<CsrMatrix>(d.layers.at("spliced")); }

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST(DatasetCreate, PartitionAndNamesAtEveryShape) {
  const int rank = test::rank(), size = test::ranks();
  for (int64_t n : {0, 1, 2, 3, 7, 10, 100}) {
    SCOPED_TRACE("n_obs = " + std::to_string(n));
    const Dataset d = Dataset::create(MPI_COMM_WORLD, n, 3);
    EXPECT_EQ(d.n_obs, n);
    EXPECT_EQ(d.n_vars, 3);
    EXPECT_EQ(d.rank(), rank);
    EXPECT_EQ(d.ranks(), size);
    EXPECT_EQ(d.partition().total, n);
    EXPECT_EQ(d.partition().ranks, size);
    const int64_t base = n / size, extra = n % size;
    EXPECT_EQ(d.n_obs_local, base + (rank < extra ? 1 : 0));
    EXPECT_EQ(d.obs_begin, rank * base + std::min<int64_t>(rank, extra));
    EXPECT_EQ(d.obs.rows(), d.n_obs_local);

    const auto begins = all_gather(d.obs_begin), sizes = all_gather(d.n_obs_local);
    int64_t expected_begin = 0;
    for (int q = 0; q < size; ++q) {
      EXPECT_EQ(begins[static_cast<size_t>(q)], expected_begin) << "rank " << q;
      expected_begin += sizes[static_cast<size_t>(q)];
    }
    EXPECT_EQ(expected_begin, n);

    std::string names;
    for (const auto& s : d.obs.index) names += s + ",";
    std::string all;
    for (const auto& s : all_gather(names)) all += s;
    std::string expected;
    for (int64_t i = 0; i < n; ++i) expected += "cell_" + std::to_string(i) + ",";
    EXPECT_EQ(all, expected);
    EXPECT_EQ(d.var.index, (std::vector<std::string>{"gene_0", "gene_1", "gene_2"}));
    EXPECT_FALSE(d.X.has_value());
    EXPECT_TRUE(d.layers.empty());
  }
}

TEST(DatasetSlots, MissingSlotsNameWhatThereIs) {
  const Dataset d = build(7, 5);
  EXPECT_EQ(error_of([&] { d.layer("ambiguous"); }),
            "pancreas.h5ad: layers/ambiguous: layer not present (this file has layers: spliced, unspliced)");
  EXPECT_EQ(error_of([&] { d.layer_csr("unspliced"); }),
            "pancreas.h5ad: layers/unspliced: expected a sparse (CSR) layer, found a dense one");
  EXPECT_EQ(error_of([&] { d.obsm_dense("X_umap"); }), "pancreas.h5ad: obsm/X_umap: not present (this file has obsm: X_pca)");
  EXPECT_EQ(&d.layer("X"), &*d.X);
  EXPECT_EQ(d.obsm_dense("X_pca").shape, (std::vector<int64_t>{d.n_obs_local, 2}));
  const Dataset empty = Dataset::create(MPI_COMM_WORLD, 4, 2);
  EXPECT_EQ(error_of([&] { empty.layer("X"); }), "X: not present");
  EXPECT_EQ(error_of([&] { empty.layer("spliced"); }), "layers/spliced: layer not present (this file has layers: none)");
}

// ---------------------------------------------------------------------------------------------

TEST(Summarize, FullTextWithGlobalFigures) {
  const Dataset d = build(7, 5);
  const std::string text = summarize(d);
  // 6 stored values in X: rows 0..6 hold 0,1,2,0,1,2,0 entries; 6 / 35 = 17.14 %.
  const std::string expected =
      "AnnData object with n_obs × n_vars = 7 × 5\n"
      "    obs: 'clusters'\n"
      "    uns: 'clusters_colors', 'pca', 'velocity_params'\n"
      "    obsm: 'X_pca'\n"
      "    layers: 'spliced', 'unspliced'\n"
      "    obsp: 'connectivities'\n"
      "\n"
      "slots (kind, dtype, shape):\n"
      "  " + pad("X", 28) + " csr    " + pad("float32", 8) + " " + pad("7 × 5", 16) + " nnz 6 (17.14%)\n"
      "  " + pad("layers/spliced", 28) + " csr    " + pad("float32", 8) + " " + pad("7 × 5", 16) + " nnz 6 (17.14%)\n"
      "  " + pad("layers/unspliced", 28) + " dense  " + pad("float32", 8) + " 7 × 5\n"
      "  " + pad("obsm/X_pca", 28) + " dense  " + pad("float64", 8) + " 7 × 2\n"
      "  " + pad("obsp/connectivities", 28) + " csr    " + pad("float32", 8) + " " + pad("7 × 7", 16) + " nnz 14 (PETSc AIJ)\n"
      "  " + pad("obs/clusters", 28) + " " + pad("categorical (2 categories)", 30) + " " + pad("int8", 8) + " 7\n"
      "  " + pad("uns/clusters_colors", 28) + " strings  2\n"
      "  " + pad("uns/pca/variance_ratio", 28) + " dense  " + pad("float64", 8) + " 2\n"
      "  " + pad("uns/velocity_params/mode", 28) + " string   'stochastic'\n"
      "  uns/velocity_params/n_neighbors scalar   " + pad("int64", 8) + " 30\n";
  EXPECT_EQ(text, expected);
  // The first line and key lists, as anndata prints them.
  EXPECT_EQ(text.substr(0, text.find('\n')), "AnnData object with n_obs × n_vars = 7 × 5");
  EXPECT_NE(text.find("\n    obs: 'clusters'\n"), std::string::npos);
  EXPECT_NE(text.find("\n    layers: 'spliced', 'unspliced'\n"), std::string::npos);
  // Identical on every rank (global figures, not the rank's slab).
  for (const auto& t : all_gather(text)) EXPECT_EQ(t, text);
}

TEST(Summarize, RanksWithoutCellsAndExplicitZeros) {
  // Two cells: at 3 ranks the last rank holds none. Cell 1's self-loop is an explicit zero, which
  // stays a stored entry.
  Tweaks t;
  t.obsp_cell = 1;
  t.obsp_value = 0.0;
  const Dataset d = build(2, 5, t);
  const std::string text = summarize(d);
  EXPECT_EQ(text.substr(0, text.find('\n')), "AnnData object with n_obs × n_vars = 2 × 5");
  EXPECT_NE(text.find("  " + pad("X", 28) + " csr    " + pad("float32", 8) + " " + pad("2 × 5", 16) + " nnz 1 (10.00%)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  " + pad("obsp/connectivities", 28) + " csr    " + pad("float32", 8) + " " + pad("2 × 2", 16) +
                      " nnz 4 (PETSc AIJ)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  " + pad("obs/clusters", 28) + " " + pad("categorical (2 categories)", 30) + " " + pad("int8", 8) + " 2\n"),
            std::string::npos)
      << text;
  for (const auto& s : all_gather(text)) EXPECT_EQ(s, text);
}

TEST(Summarize, EmptyDatasetHasOnlyTheHeader) {
  const Dataset d = Dataset::create(MPI_COMM_WORLD, 5, 3);
  EXPECT_EQ(summarize(d), "AnnData object with n_obs × n_vars = 5 × 3\n\nslots (kind, dtype, shape):\n");
}

// ---------------------------------------------------------------------------------------------

TEST(FirstDifference, IdenticalDatasets) {
  const Dataset a = build(7, 5), b = build(7, 5);
  EXPECT_EQ(first_difference(a, b), "");
  EXPECT_EQ(first_difference(a, a), "");
}

TEST(FirstDifference, OneLayerValueOnTheLastRank) {
  const Dataset a = build(7, 5);
  Dataset b = build(7, 5);
  const bool last = test::rank() == test::ranks() - 1;
  if (last) {
    ASSERT_GT(spliced(b).nnz(), 0);   // the last rank holds cell 5 (2 entries) at 1, 2 and 3 ranks
    spliced(b).data.data<float>()[0] += 1.0f;
  }
  EXPECT_EQ(first_difference(a, b), "layers/spliced differs");
  EXPECT_EQ(first_difference(b, a), "layers/spliced differs");
}

TEST(FirstDifference, ObspValueOnOneRankOnly) {
  const Dataset a = build(7, 5);
  Tweaks t;
  t.obsp_cell = 6;   // held by the last rank at every rank count
  t.obsp_value = 0.75;
  const Dataset b = build(7, 5, t);
  EXPECT_EQ(first_difference(a, b), "obsp/connectivities differs");
  // An explicit zero is not the same as a weight.
  t.obsp_value = 0.0;
  const Dataset c = build(7, 5, t);
  EXPECT_EQ(first_difference(a, c), "obsp/connectivities differs");
}

TEST(FirstDifference, NamesTheSlot) {
  const Dataset a = build(7, 5);
  {
    Dataset b = build(7, 5);
    b.layers.erase("unspliced");
    EXPECT_EQ(first_difference(a, b), "layers/unspliced missing in the second dataset");
    EXPECT_EQ(first_difference(b, a), "layers/unspliced missing in the first dataset");
  }
  {
    Dataset b = build(7, 5);
    if (test::rank() == 0) b.obs.columns.at("clusters").values.data<int8_t>()[0] = 1;
    EXPECT_EQ(first_difference(a, b), "obs differs");
  }
  {
    Dataset b = build(7, 5);
    if (test::rank() == test::ranks() - 1) b.obs.index.back() = "renamed";
    EXPECT_EQ(first_difference(a, b), "obs names differ");
  }
  {
    Dataset b = build(7, 5);
    if (test::rank() == test::ranks() - 1) std::get<DenseArray>(b.obsm.at("X_pca")).values.data<double>()[0] = 99.0;
    EXPECT_EQ(first_difference(a, b), "obsm/X_pca differs");
  }
  {
    Dataset b = build(7, 5);
    b.uns["velocity_params"]["mode"] = UnsNode::string("dynamical");
    EXPECT_EQ(first_difference(a, b), "uns differs");
  }
  {
    Dataset b = build(7, 5);
    b.obsp.erase("connectivities");
    EXPECT_EQ(first_difference(a, b), "obsp/connectivities missing in the second dataset");
  }
  {
    Dataset b = build(7, 5);
    b.X.reset();
    EXPECT_EQ(first_difference(a, b), "X present in only one");
  }
}

TEST(FirstDifference, LowestRankReportsWhenRanksDisagree) {
  // Rank 0 sees a different obs value, the last rank a different layer value: every rank reports
  // rank 0's finding (at one rank, obs is compared before layers).
  const Dataset a = build(7, 5);
  Dataset b = build(7, 5);
  if (test::rank() == 0) b.obs.columns.at("clusters").values.data<int8_t>()[0] = 1;
  if (test::rank() == test::ranks() - 1) spliced(b).data.data<float>()[0] = 42.0f;
  const std::string diff = first_difference(a, b);
  EXPECT_EQ(diff, "obs differs");
  for (const auto& s : all_gather(diff)) EXPECT_EQ(s, "obs differs");
}

// ---------------------------------------------------------------------------------------------

TEST(ValidateCounts, CleanCountsPass) {
  const Dataset d = build(7, 5);
  EXPECT_NO_THROW(validate_counts(d, "spliced"));
  EXPECT_NO_THROW(validate_counts(d, "unspliced"));
  EXPECT_NO_THROW(validate_counts(d, "X"));
}

TEST(ValidateCounts, NegativeOnOneRankThrowsEverywhereWithTheGlobalCell) {
  Dataset d = build(7, 5);
  // Cell 5 (2 entries) is held by the last rank at 1, 2 and 3 ranks.
  if (const int64_t r = local_row(d, 5); r >= 0) spliced(d).data.data<float>()[spliced(d).indptr[static_cast<size_t>(r)] + 1] = -2.0f;
  const std::string message = error_of([&] { validate_counts(d, "spliced"); });
  EXPECT_EQ(message,
            "pancreas.h5ad: layers/spliced: expected raw counts but found 1 negative value(s) (first in cell 5); "
            "pass unnormalised spliced/unspliced counts");
  for (const auto& m : all_gather(message)) EXPECT_EQ(m, message);
  EXPECT_NO_THROW(validate_counts(d, "X"));   // X is a separate copy
}

TEST(ValidateCounts, NonFiniteAndNegativeOnDifferentRanks) {
  Dataset d = build(7, 5);
  // Cell 1 holds NaN (rank 0 at every count); cells 5 and 2 hold negatives.
  if (const int64_t r = local_row(d, 1); r >= 0)
    spliced(d).data.data<float>()[spliced(d).indptr[static_cast<size_t>(r)]] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t g : {5, 2})
    if (const int64_t r = local_row(d, g); r >= 0) spliced(d).data.data<float>()[spliced(d).indptr[static_cast<size_t>(r)]] = -1.0f;
  EXPECT_EQ(error_of([&] { validate_counts(d, "spliced"); }),
            "pancreas.h5ad: layers/spliced: expected raw counts but found 1 NaN/Inf value(s) and 2 negative value(s) "
            "(first in cell 1); pass unnormalised spliced/unspliced counts");
}

TEST(ValidateCounts, NonIntegerValuesAreAllowedAndNotBlamed) {
  Dataset d = build(7, 5);
  // Cell 1 holds 0.5 (allowed: ambient-corrected counts), cell 5 a negative (not allowed): the
  // message must point at cell 5, the cell that is wrong.
  if (const int64_t r = local_row(d, 1); r >= 0) spliced(d).data.data<float>()[spliced(d).indptr[static_cast<size_t>(r)]] = 0.5f;
  EXPECT_NO_THROW(validate_counts(d, "spliced"));
  if (const int64_t r = local_row(d, 5); r >= 0) spliced(d).data.data<float>()[spliced(d).indptr[static_cast<size_t>(r)]] = -3.0f;
  EXPECT_EQ(error_of([&] { validate_counts(d, "spliced"); }),
            "pancreas.h5ad: layers/spliced: expected raw counts but found 1 negative value(s) (first in cell 5); "
            "pass unnormalised spliced/unspliced counts");
}

TEST(ValidateCounts, DenseLayersAndX) {
  Dataset d = build(7, 5);
  if (const int64_t r = local_row(d, 6); r >= 0) {
    auto& u = std::get<DenseArray>(d.layers.at("unspliced"));
    u.values.data<float>()[r * 5 + 3] = -std::numeric_limits<float>::infinity();
  }
  EXPECT_EQ(error_of([&] { validate_counts(d, "unspliced"); }),
            "pancreas.h5ad: layers/unspliced: expected raw counts but found 1 NaN/Inf value(s) (first in cell 6); "
            "pass unnormalised spliced/unspliced counts");
  if (const int64_t r = local_row(d, 4); r >= 0) std::get<CsrMatrix>(*d.X).data.data<float>()[std::get<CsrMatrix>(*d.X).indptr[static_cast<size_t>(r)]] = -4.0f;
  EXPECT_EQ(error_of([&] { validate_counts(d, "X"); }),
            "pancreas.h5ad: X: expected raw counts but found 1 negative value(s) (first in cell 4); "
            "pass unnormalised spliced/unspliced counts");
  EXPECT_EQ(error_of([&] { validate_counts(d, "ambiguous"); }),
            "pancreas.h5ad: layers/ambiguous: layer not present (this file has layers: spliced, unspliced)");
}

TEST(ValidateCounts, IntegerDtypes) {
  Dataset d = build(7, 5);
  auto& s = spliced(d);
  s.data = s.data.converted(DType::i32);
  EXPECT_NO_THROW(validate_counts(d, "spliced"));
  if (const int64_t r = local_row(d, 2); r >= 0) s.data.data<int32_t>()[s.indptr[static_cast<size_t>(r)]] = -7;
  EXPECT_EQ(error_of([&] { validate_counts(d, "spliced"); }),
            "pancreas.h5ad: layers/spliced: expected raw counts but found 1 negative value(s) (first in cell 2); "
            "pass unnormalised spliced/unspliced counts");
}
