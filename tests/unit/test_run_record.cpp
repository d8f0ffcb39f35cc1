// The run record (uns['velofield']) survives a store/load round trip, and its config hash
// ignores where the output goes but not what is computed.
#include <gtest/gtest.h>

#include "pipeline/run_record.hpp"
#include "pipeline/slot_diff.hpp"
#include "test_support.hpp"

using namespace velofield;
using velofield::test::error_of;

TEST(RunRecord, StoreLoadRoundTrip) {
  Dataset d = Dataset::create(MPI_COMM_SELF, 4, 3);
  RunRecord r;
  r.version = "0.1.0";
  r.config_text = "moments.n_neighbors = 30\n";
  r.config_hash = hash_hex(r.config_text);
  r.input = "in.h5ad";
  r.input_checksum = "0123456789abcdef";
  r.ranks = 3;
  r.completed_stages = {"preprocess", "moments"};
  for (int i = 0; i < 12; ++i) {   // more than 10: the order must survive name-ordered storage
    StageRecord s;
    s.stage = "stage" + std::to_string(i);
    s.wall_seconds = 0.5 * i;
    s.peak_rss_bytes = {100 + i, 200 + i, 300 + i};
    s.ranks = 3;
    r.timings.push_back(s);
  }
  store_run_record(d, r);
  const RunRecord back = load_run_record(d);
  EXPECT_EQ(back.config_hash, r.config_hash);
  EXPECT_EQ(back.completed_stages, r.completed_stages);
  EXPECT_FALSE(back.complete);
  ASSERT_EQ(back.timings.size(), 12u);
  EXPECT_EQ(back.timings[11].stage, "stage11");
  EXPECT_EQ(back.timings[11].wall_seconds, 5.5);
  EXPECT_EQ(back.timings[3].peak_rss_bytes, (std::vector<int64_t>{103, 203, 303}));
}

TEST(RunRecord, MissingRecordIsAClearError) {
  Dataset d = Dataset::create(MPI_COMM_SELF, 2, 2);
  d.source = "x.h5ad";
  EXPECT_EQ(error_of([&] { load_run_record(d); }),
            "x.h5ad: uns/velofield: no run record: this file was not written by `velofield run`");
}

TEST(RunRecord, ConfigHashIgnoresTheOutputOnly) {
  const Config a = Config::from_string("[run]\ninput = a.h5ad\noutput = x.h5ad\n[moments]\nn_neighbors = 30\n", "a.ini");
  Config b = Config::from_string("[moments]\nn_neighbors = 30\n[run]\noutput = elsewhere.h5ad\ninput = a.h5ad\n", "b.ini");
  EXPECT_EQ(canonical_config(a), "moments.n_neighbors = 30\nrun.input = a.h5ad\n");
  EXPECT_EQ(hash_hex(canonical_config(a)), hash_hex(canonical_config(b)));
  b.set("moments", "n_neighbors", "50");
  EXPECT_NE(hash_hex(canonical_config(a)), hash_hex(canonical_config(b)));
  EXPECT_EQ(hash_hex("").size(), 16u);
}

TEST(SlotDiff, ListsAddedAndRemovedSlots) {
  Dataset d = Dataset::create(MPI_COMM_SELF, 3, 2);
  d.layers["spliced"] = CsrMatrix::with_shape(3, 2);
  const SlotSnapshot before = snapshot(d);
  d.layers["M_s"] = DenseArray::zeros({3, 2});
  d.layers.erase("spliced");
  d.obsm["X_pca"] = DenseArray::zeros({3, 2});
  d.uns["neighbors"] = UnsNode::dict();
  EXPECT_EQ(describe_changes(before, snapshot(d), "moments"),
            "┌ moments: slots changed\n│ layers + M_s\n│ layers − spliced\n│ obsm + X_pca\n│ uns + neighbors\n└\n");
  EXPECT_EQ(describe_changes(before, before, "noop"), "");
}
