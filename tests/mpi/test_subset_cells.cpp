// subset_cells: every cell-indexed slot keeps exactly the kept cells, in order, in the block
// partition, whatever the rank count; obsp becomes the induced subgraph; keeping everything
// changes nothing. The expected content is a function of the global cell index, so each rank
// checks its own rows without any gathering.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/subset_cells.hpp"
#include "test_support.hpp"

using namespace velofield;

namespace {

constexpr int64_t kCells = 23, kGenes = 7;

// Cell g has nonzeros at genes (g + j) % kGenes for j < g % 4 + 1 (row 0.. varying lengths), value g*10+j.
Dataset fixture() {
  Dataset d = Dataset::create(MPI_COMM_WORLD, kCells, kGenes);
  d.source = "fixture.h5ad";
  const int64_t n = d.n_obs_local, b = d.obs_begin;
  CsrMatrix x = CsrMatrix::with_shape(n, kGenes, DType::f32);
  x.indptr = {0};
  std::vector<int32_t> idx;
  std::vector<float> val;
  DenseArray dense = DenseArray::zeros({n, 3}, DType::f64);
  DenseArray emb = DenseArray::zeros({n, 2}, DType::f32);
  std::vector<int64_t> ints;
  std::vector<std::string> names, labels;
  std::vector<int8_t> codes;
  std::vector<uint8_t> mask;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g = b + i;
    for (int64_t j = 0; j < g % 4 + 1; ++j) {
      idx.push_back(static_cast<int32_t>((g + j) % kGenes));
      val.push_back(static_cast<float>(g * 10 + j));
    }
    x.indptr.push_back(static_cast<int64_t>(idx.size()));
    for (int c = 0; c < 3; ++c) dense.values.data<double>()[i * 3 + c] = static_cast<double>(g) + 0.25 * c;
    for (int c = 0; c < 2; ++c) emb.values.data<float>()[i * 2 + c] = static_cast<float>(-g - c);
    ints.push_back(g * g);
    labels.push_back(std::string(static_cast<size_t>(g % 5), 'x') + std::to_string(g));   // varying lengths, some short
    codes.push_back(static_cast<int8_t>(g % 3));
    mask.push_back(static_cast<uint8_t>(g % 2));
  }
  x.indices = Array::from(idx);
  x.data = Array::from(val);
  d.X = x;
  d.layers["dense"] = dense;
  d.obsm["X_emb"] = emb;
  d.obs.set("ints", Column::numeric(Array::from(ints)));
  d.obs.set("labels", Column::text(labels));
  d.obs.set("kind", Column::categorical(Array::from(codes), {"a", "b", "c"}));
  Column nullable = Column::numeric(Array::from(ints));
  nullable.kind = Column::Kind::nullable_integer;
  nullable.mask = mask;
  d.obs.set("maybe", nullable);
  // obsp: a ring g → g±1 with weight g + 0.5 · neighbour.
  std::vector<int64_t> ptr{0}, cols;
  std::vector<double> w;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g = b + i;
    for (int64_t nb : {g - 1, g + 1})
      if (nb >= 0 && nb < kCells) {
        cols.push_back(nb);
        w.push_back(static_cast<double>(g) + 0.5 * static_cast<double>(nb));
      }
    ptr.push_back(static_cast<int64_t>(cols.size()));
  }
  d.obsp["ring"] = DistMatrix::from_local_csr(d.comm, n, kCells, ptr, cols, w, DType::f64);
  return d;
}

bool removed(int64_t g) { return g % 3 == 1 || (g >= 5 && g <= 9); }

}  // namespace

TEST(SubsetCells, KeepsExactlyTheKeptCellsInBlockPartition) {
  Dataset d = fixture();
  std::vector<uint8_t> keep(static_cast<size_t>(d.n_obs_local));
  std::vector<int64_t> old_of_new;   // the global order of kept cells
  for (int64_t g = 0; g < kCells; ++g)
    if (!removed(g)) old_of_new.push_back(g);
  for (int64_t i = 0; i < d.n_obs_local; ++i) keep[static_cast<size_t>(i)] = !removed(d.obs_begin + i);
  const SubsetCellsReport report = subset_cells(d, keep);
  const int64_t n_new = static_cast<int64_t>(old_of_new.size());
  EXPECT_EQ(report.kept, n_new);
  EXPECT_EQ(report.removed, kCells - n_new);
  ASSERT_EQ(d.n_obs, n_new);
  const BlockPartition p{n_new, test::ranks()};
  ASSERT_EQ(d.obs_begin, p.begin(test::rank()));
  ASSERT_EQ(d.n_obs_local, p.size(test::rank()));
  const auto& x = std::get<CsrMatrix>(*d.X);
  ASSERT_EQ(x.rows, d.n_obs_local);
  const auto& dense = std::get<DenseArray>(d.layers.at("dense"));
  const auto& emb = std::get<DenseArray>(d.obsm.at("X_emb"));
  ASSERT_EQ(dense.shape, (std::vector<int64_t>{d.n_obs_local, 3}));
  ASSERT_EQ(emb.shape, (std::vector<int64_t>{d.n_obs_local, 2}));
  ASSERT_EQ(d.obs.rows(), d.n_obs_local);
  std::vector<int64_t> ptr, cols;
  std::vector<double> w;
  d.obsp.at("ring").local_csr(ptr, cols, w);
  ASSERT_EQ(static_cast<int64_t>(ptr.size()), d.n_obs_local + 1);
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const int64_t g = old_of_new[static_cast<size_t>(d.obs_begin + i)];
    EXPECT_EQ(d.obs.index[static_cast<size_t>(i)], "cell_" + std::to_string(g));
    EXPECT_EQ(d.obs.columns.at("ints").values.data<int64_t>()[i], g * g);
    EXPECT_EQ(d.obs.columns.at("labels").strings[static_cast<size_t>(i)], std::string(static_cast<size_t>(g % 5), 'x') + std::to_string(g));
    EXPECT_EQ(d.obs.columns.at("kind").values.data<int8_t>()[i], g % 3);
    EXPECT_EQ(d.obs.columns.at("maybe").mask[static_cast<size_t>(i)], g % 2);
    ASSERT_EQ(x.indptr[static_cast<size_t>(i + 1)] - x.indptr[static_cast<size_t>(i)], g % 4 + 1) << "cell " << g;
    for (int64_t j = 0; j < g % 4 + 1; ++j) {
      const int64_t k = x.indptr[static_cast<size_t>(i)] + j;
      EXPECT_EQ(x.index(k), (g + j) % kGenes);
      EXPECT_EQ(x.data.data<float>()[k], static_cast<float>(g * 10 + j));
    }
    for (int c = 0; c < 3; ++c) EXPECT_EQ(dense.values.data<double>()[i * 3 + c], static_cast<double>(g) + 0.25 * c);
    for (int c = 0; c < 2; ++c) EXPECT_EQ(emb.values.data<float>()[i * 2 + c], static_cast<float>(-g - c));
    // obsp: the ring edges to kept neighbours, renumbered.
    std::vector<std::pair<int64_t, double>> want;
    for (int64_t nb : {g - 1, g + 1})
      if (nb >= 0 && nb < kCells && !removed(nb)) {
        const int64_t nn = std::lower_bound(old_of_new.begin(), old_of_new.end(), nb) - old_of_new.begin();
        want.push_back({nn, static_cast<double>(g) + 0.5 * static_cast<double>(nb)});
      }
    std::vector<std::pair<int64_t, double>> got;
    for (int64_t k = ptr[static_cast<size_t>(i)]; k < ptr[static_cast<size_t>(i + 1)]; ++k)
      got.push_back({cols[static_cast<size_t>(k)], w[static_cast<size_t>(k)]});
    EXPECT_EQ(got, want) << "obsp row of cell " << g;
  }
  EXPECT_EQ(d.obsp.at("ring").global_rows(), n_new);
  EXPECT_EQ(d.obsp.at("ring").global_cols(), n_new);
}

TEST(SubsetCells, KeepingEverythingChangesNothing) {
  Dataset d = fixture();
  Dataset same = fixture();
  const SubsetCellsReport r = subset_cells(d, std::vector<uint8_t>(static_cast<size_t>(d.n_obs_local), 1));
  EXPECT_EQ(r.removed, 0);
  EXPECT_EQ(first_difference(d, same), "");
}

TEST(SubsetCells, OneRankLosesAllItsCells) {
  // Rank 0's cells all go (at one rank: the first block of cells); the rest rebalance.
  Dataset d = fixture();
  const BlockPartition before = d.partition();
  std::vector<uint8_t> keep(static_cast<size_t>(d.n_obs_local), test::rank() == 0 ? 0 : 1);
  if (test::ranks() == 1)
    for (int64_t i = 0; i < d.n_obs_local; ++i) keep[static_cast<size_t>(i)] = i >= 8;
  subset_cells(d, keep);
  const int64_t first_kept = test::ranks() == 1 ? 8 : before.end(0);
  ASSERT_EQ(d.n_obs, kCells - first_kept);
  const BlockPartition p{d.n_obs, test::ranks()};
  ASSERT_EQ(d.n_obs_local, p.size(test::rank()));
  for (int64_t i = 0; i < d.n_obs_local; ++i)
    EXPECT_EQ(d.obs.index[static_cast<size_t>(i)], "cell_" + std::to_string(first_kept + d.obs_begin + i));
}

TEST(SubsetCells, RemovingEveryCellLeavesAnEmptyDataset) {
  Dataset d = fixture();
  const SubsetCellsReport r = subset_cells(d, std::vector<uint8_t>(static_cast<size_t>(d.n_obs_local), 0));
  EXPECT_EQ(r.kept, 0);
  EXPECT_EQ(d.n_obs, 0);
  EXPECT_EQ(d.n_obs_local, 0);
  EXPECT_EQ(std::get<CsrMatrix>(*d.X).rows, 0);
  EXPECT_EQ(d.obs.rows(), 0);
}

TEST(SubsetCells, WrongMaskSizeIsAnErrorOnEveryRank) {
  Dataset d = fixture();
  const std::string msg = test::error_of([&] { subset_cells(d, std::vector<uint8_t>(static_cast<size_t>(d.n_obs_local) + 1, 1)); });
  EXPECT_NE(msg.find("keep mask"), std::string::npos) << msg;
}
