// `import-velocity` (issue 6 acceptance): the scVelo velocity of cellrank's dentate gyrus file
// imported into a dataset whose cells come in another order and whose genes are a reordered
// superset, matched by name value for value; missing cells, a gene-name mismatch and NaN
// velocities are clear errors (NaN can be masked explicitly).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <unordered_map>

#include "core/config.hpp"
#include "io/h5ad.hpp"
#include "test_support.hpp"
#include "velocity/import_velocity_stage.hpp"

using namespace velofield;

namespace {

const char* kFile = "dentategyrus_cellrank_200obs.h5ad";

void run_import(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = import_velocity_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("import-velocity", k, v);
  stage.run(d, StageConfig(config, "import-velocity", stage.keys));
}

// The input: the file's cells in reverse order (plus `extra_cells`), its genes reversed with a made-up
// gene after every tenth (a reordered superset), or only its first `keep_genes` genes.
Dataset input_for(const Dataset& from, const std::vector<std::string>& extra_cells = {}, int64_t keep_genes = -1) {
  std::vector<std::string> cells(from.obs.index.rbegin(), from.obs.index.rend()), genes;
  cells.insert(cells.end(), extra_cells.begin(), extra_cells.end());
  if (keep_genes >= 0) {
    genes.assign(from.var.index.begin(), from.var.index.begin() + keep_genes);
  } else {
    for (int64_t j = from.n_vars - 1; j >= 0; --j) {
      genes.push_back(from.var.index[static_cast<size_t>(j)]);
      if (j % 10 == 0) genes.push_back("made_up_" + std::to_string(j));
    }
  }
  Dataset d = Dataset::create(MPI_COMM_WORLD, static_cast<int64_t>(cells.size()), static_cast<int64_t>(genes.size()));
  d.source = "input.h5ad";
  for (int64_t i = 0; i < d.n_obs_local; ++i) d.obs.index[static_cast<size_t>(i)] = cells[static_cast<size_t>(d.obs_begin + i)];
  d.var.index = genes;
  return d;
}

}  // namespace

TEST(ImportVelocity, CellrankVelocityMatchedByName) {
  VELOFIELD_REQUIRE_SHARED(path, kFile);
  const Dataset from = read_h5ad(path, MPI_COMM_SELF);   // every cell, for the expected values
  const DenseArray& velocity = std::get<DenseArray>(from.layers.at("velocity"));
  Dataset d = input_for(from);
  run_import(d, {{"velocity", path}, {"nan", "mask"}});

  std::unordered_map<std::string, int64_t> from_row, from_col;
  for (int64_t i = 0; i < from.n_obs; ++i) from_row[from.obs.index[static_cast<size_t>(i)]] = i;
  for (int64_t j = 0; j < from.n_vars; ++j) from_col[from.var.index[static_cast<size_t>(j)]] = j;
  std::vector<uint8_t> finite_gene(static_cast<size_t>(from.n_vars), 1);
  for (int64_t k = 0; k < velocity.elements(); ++k)
    if (!std::isfinite(velocity.values.as_double(static_cast<size_t>(k)))) finite_gene[static_cast<size_t>(k % from.n_vars)] = 0;
  int64_t finite = 0;
  for (uint8_t f : finite_gene) finite += f;
  EXPECT_EQ(finite, 322);   // scVelo leaves its 208 non-velocity genes NaN

  const CsrMatrix& v = d.layer_csr("velocity_S");   // CSR: 322 of the 583 genes carry a velocity
  ASSERT_EQ(v.data.dtype(), DType::f64);
  int64_t mismatches = 0, checked = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    std::vector<double> row(static_cast<size_t>(d.n_vars), 0.0);
    for (int64_t k = v.indptr[static_cast<size_t>(i)]; k < v.indptr[static_cast<size_t>(i + 1)]; ++k)
      row[static_cast<size_t>(v.index(k))] = v.data.as_double(static_cast<size_t>(k));
    const int64_t r = from_row.at(d.obs.index[static_cast<size_t>(i)]);
    for (int64_t g = 0; g < d.n_vars; ++g) {
      auto it = from_col.find(d.var.index[static_cast<size_t>(g)]);
      double want = 0;   // made-up genes and masked (NaN) genes stay empty
      if (it != from_col.end() && finite_gene[static_cast<size_t>(it->second)])
        want = velocity.values.as_double(static_cast<size_t>(r * from.n_vars + it->second));
      mismatches += row[static_cast<size_t>(g)] != want;
      ++checked;
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, &mismatches, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &checked, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(checked, 200 * (530 + 53));

  // Without use_for_pca / highly_variable in the input, the genes flagged are the imported ones.
  const Column& dyn = d.var.columns.at("use_for_dynamics");
  const Column& tr = d.var.columns.at("use_for_transition");
  for (int64_t g = 0; g < d.n_vars; ++g) {
    auto it = from_col.find(d.var.index[static_cast<size_t>(g)]);
    const bool want = it != from_col.end() && finite_gene[static_cast<size_t>(it->second)];
    EXPECT_EQ(dyn.values.as_double(static_cast<size_t>(g)) != 0, want) << d.var.index[static_cast<size_t>(g)];
    EXPECT_EQ(tr.values.as_double(static_cast<size_t>(g)) != 0, want);
  }
  EXPECT_EQ(d.uns.at("dynamics/model").text, "stochastic");
  EXPECT_EQ(d.uns.at("dynamics/est_method").text, "auto");
  EXPECT_EQ(d.uns.at("dynamics/asspt_mRNA").text, "ss");
  EXPECT_EQ(d.uns.at("dynamics/experiment_type").text, "conventional");
  EXPECT_EQ(d.uns.at("dynamics/normalized").array.values.as_double(0), 1.0);
  EXPECT_EQ(d.uns.at("dynamics/has_labeling").array.values.as_double(0), 0.0);
  EXPECT_FALSE(d.uns.contains("dynamics/t"));   // None: not stored, as anndata writes dynamo's record
}

TEST(ImportVelocity, GeneFlagsFromAVarColumn) {
  VELOFIELD_REQUIRE_SHARED(path, kFile);
  const Dataset from = read_h5ad(path, MPI_COMM_SELF);
  Dataset d = input_for(from);
  // use_for_pca on every third gene: use_for_dynamics = those of them with a finite velocity.
  Array flags(DType::boolean, static_cast<size_t>(d.n_vars));
  for (int64_t g = 0; g < d.n_vars; ++g) flags.data<uint8_t>()[g] = g % 3 == 0;
  d.var.set("use_for_pca", Column::numeric(flags));
  run_import(d, {{"velocity", path + ":velocity"}, {"nan", "mask"}, {"genes-for-transition", "imported"}});
  const Column& dyn = d.var.columns.at("use_for_dynamics");
  const Column& tr = d.var.columns.at("use_for_transition");
  int64_t n_dyn = 0, n_tr = 0, outside = 0;
  for (int64_t g = 0; g < d.n_vars; ++g) {
    n_dyn += dyn.values.as_double(static_cast<size_t>(g)) != 0;
    n_tr += tr.values.as_double(static_cast<size_t>(g)) != 0;
    outside += dyn.values.as_double(static_cast<size_t>(g)) != 0 && g % 3 != 0;
  }
  EXPECT_EQ(outside, 0);
  EXPECT_GT(n_dyn, 80);
  EXPECT_LT(n_dyn, 130);
  EXPECT_EQ(n_tr, 322);
}

TEST(ImportVelocity, BadInputsAreClearErrors) {
  VELOFIELD_REQUIRE_SHARED(path, kFile);
  const Dataset from = read_h5ad(path, MPI_COMM_SELF);
  {
    Dataset d = input_for(from);   // NaN without nan = mask
    const std::string e = test::error_of([&] { run_import(d, {{"velocity", path}}); });
    EXPECT_NE(e.find(path + ": layers/velocity: 41600 NaN/Inf value(s) in 208 gene(s)"), std::string::npos) << e;
    EXPECT_NE(e.find("nan = mask"), std::string::npos) << e;
  }
  {
    Dataset d = input_for(from, {"not_a_cell", "nor_this_one"});
    const std::string e = test::error_of([&] { run_import(d, {{"velocity", path}, {"nan", "mask"}}); });
    EXPECT_NE(e.find(path + ": obs: 2 of the 202 cells of input.h5ad are not in the velocity file (first: "), std::string::npos) << e;
  }
  {
    Dataset d = input_for(from, {}, 400);   // 130 of the file's 530 genes missing from the input
    const std::string e = test::error_of([&] { run_import(d, {{"velocity", path}, {"nan", "mask"}}); });
    EXPECT_NE(e.find(path + ": var: 130 of the 530 genes of the velocity file are not genes of input.h5ad"), std::string::npos) << e;
    Dataset ok = input_for(from, {}, 400);
    run_import(ok, {{"velocity", path}, {"nan", "mask"}, {"max-unmatched-genes", "0.3"}});
    EXPECT_EQ(matrix_cols(ok.layer("velocity_S")), 400);
  }
  {
    Dataset d = input_for(from);
    EXPECT_NE(test::error_of([&] { run_import(d, {{"velocity", path + ":no_such_layer"}}); })
                  .find("layers/no_such_layer: layer not present"),
              std::string::npos);
    EXPECT_NE(test::error_of([&] { run_import(d, {}); }).find("velocity: required"), std::string::npos);
    EXPECT_NE(test::error_of([&] { run_import(d, {{"velocity", path}, {"nan", "maybe"}}); }).find("expected 'error' or 'mask'"),
              std::string::npos);
    EXPECT_NE(test::error_of([&] { run_import(d, {{"velocity", path}, {"nan", "mask"}, {"genes-for-dynamics", "hvg"}}); })
                  .find("'hvg' is not a var column of input.h5ad"),
              std::string::npos);
  }
}
