// Repeated cell or gene names and empty datasets are refused with one message, the same at every
// rank count: cell names are spread over the ranks, so a repeat across a rank boundary must be
// found as surely as one inside a rank, and the repeat reported must not depend on the partition.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/validate_names.hpp"
#include "test_support.hpp"

using namespace velofield;
using velofield::test::all_gather;
using velofield::test::error_of;

namespace {
// 12 cells "c0".."c11" with the given global positions renamed; this rank's part of them.
Dataset cells_named(const std::vector<std::pair<int64_t, std::string>>& renamed) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, 12, 4);
  d.source = "names.h5ad";
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    std::string name = "c" + std::to_string(d.obs_begin + i);
    for (const auto& [at, as] : renamed)
      if (at == d.obs_begin + i) name = as;
    d.obs.index[static_cast<size_t>(i)] = name;
  }
  return d;
}

void expect_same_everywhere(const std::string& message) {
  for (const auto& m : all_gather(message)) EXPECT_EQ(m, message);
}
}  // namespace

TEST(ValidateNames, UniqueNamesPass) {
  const Dataset d = cells_named({});
  EXPECT_EQ(error_of([&] { validate_names(d); }), "<no exception>");
}

TEST(ValidateNames, RepeatAcrossRanksIsFoundAndReportedAlike) {
  // Cell 11 (on the last rank) repeats cell 0 (on the first); cells 5 and 9 repeat cell 2, which
  // has the lower second occurrence and so is the one reported, at any rank count.
  const Dataset d = cells_named({{11, "c0"}, {5, "c2"}, {9, "c2"}});
  const std::string message = error_of([&] { validate_names(d); });
  EXPECT_EQ(message,
            "names.h5ad: obs/_index: cell name 'c2' occurs more than once (cells 2 and 5; 3 extra occurrence(s) in all); "
            "make the names unique (anndata: obs_names_make_unique / var_names_make_unique)");
  expect_same_everywhere(message);
}

TEST(ValidateNames, RepeatedGeneName) {
  Dataset d = cells_named({});
  d.var.index = {"Sox9", "Neurog3", "Sox9", "Ins1"};
  const std::string message = error_of([&] { validate_names(d); });
  EXPECT_EQ(message,
            "names.h5ad: var/_index: gene name 'Sox9' occurs more than once (genes 0 and 2; 1 extra occurrence(s) in all); "
            "make the names unique (anndata: obs_names_make_unique / var_names_make_unique)");
  expect_same_everywhere(message);
}

TEST(ValidateNames, EmptyDatasets) {
  Dataset no_genes = Dataset::create(MPI_COMM_WORLD, 6, 0);
  no_genes.source = "g.h5ad";
  EXPECT_EQ(error_of([&] { validate_names(no_genes); }), "g.h5ad: var: the file has no genes");
  Dataset no_cells = Dataset::create(MPI_COMM_WORLD, 0, 3);
  no_cells.source = "c.h5ad";
  EXPECT_EQ(error_of([&] { validate_names(no_cells); }), "c.h5ad: obs: the file has no cells");
}
