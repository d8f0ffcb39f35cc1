// Bad input to the perturbation and topography stages: one velofield::Error naming the file, the
// key and the problem, the same on every rank (no rank hangs), and no slot written.
#include <gtest/gtest.h>

#include "perturbation_fixture.hpp"
#include "topography/topography_stage.hpp"

using namespace velofield;
using namespace velofield::test;

namespace {

void expect_same_on_every_rank(const std::string& message) {
  for (const auto& m : all_gather(message)) EXPECT_EQ(m, message);
}

}  // namespace

TEST(PerturbationErrors, GeneNotInTheData) {
  Dataset d = synthetic_dataset(MPI_COMM_WORLD, synthetic_data());
  const std::string m = error_of([&] { run_perturbation(d, {{"genes", "Gcg"}, {"n_neighbors", "10"}}); });
  EXPECT_NE(m.find("synthetic.h5ad"), std::string::npos) << m;
  EXPECT_NE(m.find("genes"), std::string::npos) << m;
  EXPECT_NE(m.find("gene 'Gcg' is not in var"), std::string::npos) << m;
  expect_same_on_every_rank(m);
  EXPECT_EQ(d.obsm.count("j_delta_x_perturbation"), 0u);
}

TEST(PerturbationErrors, GeneNotUsedForThePca) {
  Dataset d = synthetic_dataset(MPI_COMM_WORLD, synthetic_data());
  const std::string m = error_of([&] { run_perturbation(d, {{"genes", "gene_3,gene_11"}, {"n_neighbors", "10"}}); });
  EXPECT_NE(m.find("gene 'gene_11' was not used for the PCA (var/use_for_pca is false)"), std::string::npos) << m;
  expect_same_on_every_rank(m);
  EXPECT_EQ(d.obsm.count("velocity_umap_perturbation"), 0u);
}

TEST(PerturbationErrors, NoFittedField) {
  Dataset d = synthetic_dataset(MPI_COMM_WORLD, synthetic_data(), false);
  const std::string m = error_of([&] { run_perturbation(d, {{"genes", "gene_3"}, {"n_neighbors", "10"}}); });
  EXPECT_NE(m.find("synthetic.h5ad: uns/VecFld_pca: not present: run the vectorfield stage with basis = pca first"), std::string::npos) << m;
  expect_same_on_every_rank(m);
}

TEST(PerturbationErrors, ValueCountDisagrees) {
  Dataset d = synthetic_dataset(MPI_COMM_WORLD, synthetic_data());
  const std::string m = error_of([&] { run_perturbation(d, {{"genes", "gene_1,gene_2,gene_3"}, {"values", "1,2"}, {"n_neighbors", "10"}}); });
  EXPECT_NE(m.find("3 genes but 2 values"), std::string::npos) << m;
  expect_same_on_every_rank(m);
}

TEST(TopographyErrors, NoFittedField) {
  Dataset d = synthetic_dataset(MPI_COMM_WORLD, synthetic_data(), false);
  static const Stage stage = topography_stage();
  Config c;
  StageConfig sc(c, "topography", stage.keys);
  const std::string m = error_of([&] { stage.run(d, sc); });
  EXPECT_NE(m.find("synthetic.h5ad: uns/VecFld_umap: not present: run the vectorfield stage with basis = umap first"), std::string::npos) << m;
  expect_same_on_every_rank(m);
  EXPECT_FALSE(d.uns.contains("VecFld_umap"));
}
