// read → write → read gives identical contents, for every file in ../shared/data and for a
// synthetic dataset that exercises every slot kind, at whatever rank count this runs under.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/dataset.hpp"
#include "io/h5ad.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

void expect_round_trip(const std::string& input) {
  const std::string dir = test::temp_dir();
  const std::string out = dir + "/roundtrip.h5ad";
  Dataset a = read_h5ad(input, MPI_COMM_WORLD);
  write_h5ad(a, out);
  Dataset b = read_h5ad(out, MPI_COMM_WORLD);
  b.source = a.source;
  EXPECT_EQ(first_difference(a, b), "") << input;
  // And once more: what we wrote, written again, is read back the same.
  const std::string out2 = dir + "/roundtrip2.h5ad";
  write_h5ad(b, out2);
  Dataset c = read_h5ad(out2, MPI_COMM_WORLD);
  EXPECT_EQ(first_difference(b, c), "") << input;
  MPI_Barrier(MPI_COMM_WORLD);
  if (test::rank() == 0) std::filesystem::remove_all(dir);
}

// Every slot kind, with values that depend only on the global cell index.
Dataset synthetic(int64_t n_obs, int64_t n_vars) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, n_obs, n_vars);
  const int64_t rows = d.n_obs_local, first = d.obs_begin;
  // obs: float, int, bool, string, categorical (with missing), nullable int/bool
  std::vector<double> f(rows);
  std::vector<int32_t> i32(rows);
  std::vector<uint8_t> flags(rows), mask(rows);
  std::vector<int8_t> codes(rows);
  std::vector<std::string> names(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = first + r;
    f[r] = 0.5 * static_cast<double>(g) - 3.25;
    i32[r] = static_cast<int32_t>(g * 7 - 11);
    flags[r] = g % 3 == 0;
    codes[r] = static_cast<int8_t>(g % 5 == 4 ? -1 : g % 3);
    names[r] = "cell-ü-" + std::to_string(g);
    mask[r] = g % 4 == 1;
  }
  d.obs.set("score", Column::numeric(Array::from(f)));
  d.obs.set("count", Column::numeric(Array::from(i32)));
  d.obs.set("flag", Column::numeric(Array::from(flags, DType::boolean)));
  d.obs.set("label", Column::text(names));
  d.obs.set("clusters", Column::categorical(Array::from(codes), {"Ductal", "Ngn3 low EP", "Alpha"}, true));
  Column nint;
  nint.kind = Column::Kind::nullable_integer;
  nint.values = Array::from(i32).converted(DType::i64);
  nint.mask = mask;
  d.obs.set("maybe", nint);
  // var
  std::vector<float> gene_score(n_vars);
  for (int64_t j = 0; j < n_vars; ++j) gene_score[j] = static_cast<float>(j) / 3.0f;
  d.var.set("gene_score", Column::numeric(Array::from(gene_score)));
  std::vector<uint8_t> use(n_vars);
  for (int64_t j = 0; j < n_vars; ++j) use[j] = j % 2;
  d.var.set("use_for_pca", Column::numeric(Array::from(use, DType::boolean)));
  // X and a layer: CSR with a row pattern depending on the global row; a dense layer.
  CsrMatrix x = CsrMatrix::with_shape(rows, n_vars);
  std::vector<int32_t> idx;
  std::vector<float> val;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = first + r;
    for (int64_t j = g % 3; j < n_vars; j += 3 + g % 2) {
      idx.push_back(static_cast<int32_t>(j));
      val.push_back(static_cast<float>((g + j) % 9));
    }
    x.indptr[r + 1] = static_cast<int64_t>(idx.size());
  }
  x.indices = Array::from(idx);
  x.data = Array::from(val);
  d.X = x;
  d.layers["spliced"] = x;
  DenseArray dense = DenseArray::zeros({rows, n_vars}, DType::f32);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n_vars; ++j) dense.values.data<float>()[r * n_vars + j] = static_cast<float>((first + r) * 0.1 - j);
  d.layers["velocity_S"] = dense;
  // obsm (2-D and 3-D), varm
  DenseArray emb = DenseArray::zeros({rows, 2});
  for (int64_t r = 0; r < rows; ++r) { emb.values.data<double>()[2 * r] = static_cast<double>(first + r); emb.values.data<double>()[2 * r + 1] = -1.0; }
  d.obsm["X_umap"] = emb;
  d.obsm["cube"] = DenseArray::zeros({rows, 2, 3}, DType::f32);
  d.varm["PCs"] = DenseArray::zeros({n_vars, 4});
  // obsp: a ring graph (global columns).
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> w;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = first + r;
    cols.push_back((g + 1) % n_obs);
    cols.push_back((g + n_obs - 1) % n_obs);
    std::sort(cols.end() - 2, cols.end());
    w.push_back(0.5);
    w.push_back(0.25 + static_cast<double>(g));
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
  d.obsp.emplace("connectivities", DistMatrix::from_local_csr(MPI_COMM_WORLD, rows, n_obs, indptr, cols, w, DType::f32));
  // uns: nested dicts, scalars, strings, arrays
  d.uns["pp"]["recipe"] = UnsNode::string("monocle");
  d.uns["pp"]["n_top_genes"] = UnsNode::scalar<int64_t>(2000);
  d.uns["pp"]["params"]["relative_expr"] = UnsNode::scalar<double>(1.5);
  d.uns["clusters_colors"] = UnsNode::string_array({"#ff0000", "#00ff00", "#0000ff"});
  DenseArray m = DenseArray::zeros({2, 3});
  for (int k = 0; k < 6; ++k) m.values.data<double>()[k] = k * 1.5;
  d.uns["matrix"] = UnsNode::numeric(m);
  return d;
}

}  // namespace

TEST(H5adRoundTrip, SharedPancreasSupercell) {
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  expect_round_trip(path);
}

TEST(H5adRoundTrip, SharedPancreasScvelo50) {
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_scvelo_50obs.h5ad");
  expect_round_trip(path);
}

TEST(H5adRoundTrip, SharedDentateGyrus100) {
  VELOFIELD_REQUIRE_SHARED(path, "dentategyrus_scvelo_100obs.h5ad");
  expect_round_trip(path);
}

TEST(H5adRoundTrip, SharedCellrank200Legacy) {
  VELOFIELD_REQUIRE_SHARED(path, "dentategyrus_cellrank_200obs.h5ad");
  expect_round_trip(path);
}

TEST(H5adRoundTrip, PancreasHasTheExpectedContents) {
  VELOFIELD_REQUIRE_SHARED(path, "pancreas_supercell_3696x2000.h5ad");
  Dataset d = read_h5ad(path, MPI_COMM_WORLD);
  EXPECT_EQ(d.n_obs, 3696);
  EXPECT_EQ(d.n_vars, 2000);
  const Column& clusters = d.obs.columns.at("clusters");
  ASSERT_EQ(clusters.kind, Column::Kind::categorical);
  EXPECT_EQ(clusters.categories.size(), 8u);
  // Cluster sizes from ../shared/data/README.md, summed over ranks.
  std::vector<int64_t> counts(8, 0);
  for (size_t i = 0; i < clusters.values.size(); ++i) counts[static_cast<size_t>(clusters.values.as_int64(i))]++;
  MPI_Allreduce(MPI_IN_PLACE, counts.data(), 8, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  std::map<std::string, int64_t> by_name;
  for (size_t c = 0; c < 8; ++c) by_name[clusters.categories[c]] = counts[c];
  EXPECT_EQ(by_name["Ductal"], 916);
  EXPECT_EQ(by_name["Ngn3 high EP"], 642);
  EXPECT_EQ(by_name["Delta"], 70);
  // X equals the spliced layer for this raw-count file.
  EXPECT_TRUE(std::get<CsrMatrix>(*d.X) == d.layer_csr("spliced"));
}

TEST(H5adRoundTrip, SyntheticEverySlotKind) {
  for (int64_t n_obs : {1, 7, 40}) {
    Dataset a = synthetic(n_obs, 11);
    const std::string dir = test::temp_dir();
    write_h5ad(a, dir + "/synthetic.h5ad");
    Dataset b = read_h5ad(dir + "/synthetic.h5ad", MPI_COMM_WORLD);
    EXPECT_EQ(first_difference(a, b), "") << "n_obs = " << n_obs;
    ASSERT_EQ(b.obs.columns.at("clusters").ordered, true);
    EXPECT_EQ(b.uns.at("pp/recipe").text, "monocle");
    EXPECT_EQ(b.uns.at("pp/params/relative_expr").array.values.as_double(0), 1.5);
    MPI_Barrier(MPI_COMM_WORLD);
    if (test::rank() == 0) std::filesystem::remove_all(dir);
  }
}

TEST(H5adRoundTrip, MoreRanksThanCells) {
  // Ranks with no cells still take part in every collective read and write.
  Dataset a = synthetic(1, 5);
  const std::string dir = test::temp_dir();
  write_h5ad(a, dir + "/one.h5ad");
  Dataset b = read_h5ad(dir + "/one.h5ad", MPI_COMM_WORLD);
  EXPECT_EQ(first_difference(a, b), "");
  EXPECT_EQ(b.n_obs, 1);
  MPI_Barrier(MPI_COMM_WORLD);
  if (test::rank() == 0) std::filesystem::remove_all(dir);
}
