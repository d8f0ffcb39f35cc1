// Collective error agreement (no rank hangs when one fails), stage timers (wall time is the max
// over ranks, peak RSS one entry per rank) and the --timings JSON file.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/timers.hpp"
#include "test_support.hpp"

using namespace velofield;
using velofield::test::all_gather;
using velofield::test::error_of;

namespace {



}  // namespace

TEST(Agree, OnlyTheLastRankFails) {
  const int rank = test::rank(), last = test::ranks() - 1;
  const std::string mine = "rank " + std::to_string(rank) + ": layers/spliced: negative counts in cell 17";
  const std::string message = error_of([&] { agree(MPI_COMM_WORLD, rank != last, mine); });
  EXPECT_EQ(message, "rank " + std::to_string(last) + ": layers/spliced: negative counts in cell 17");
}

TEST(Agree, LowestFailingRankWins) {
  const int rank = test::rank(), last = test::ranks() - 1;
  const bool ok = rank != 0 && rank != last;
  const std::string mine = rank == 0 ? "first: rank 0 found a problem" : "later: rank " + std::to_string(rank);
  EXPECT_EQ(error_of([&] { agree(MPI_COMM_WORLD, ok, mine); }), "first: rank 0 found a problem");
}

TEST(Agree, MiddleRankOnly) {
  // With 3 ranks only rank 1 fails; with fewer, rank 0.
  const int rank = test::rank(), failing = test::ranks() >= 3 ? 1 : 0;
  EXPECT_EQ(error_of([&] { agree(MPI_COMM_WORLD, rank != failing, "rank " + std::to_string(rank)); }),
            "rank " + std::to_string(failing));
}

TEST(Agree, NoFailureNoThrow) {
  EXPECT_NO_THROW(agree(MPI_COMM_WORLD, true, "this message is never used"));
  EXPECT_EQ(error_of([] { agree(MPI_COMM_WORLD, true, ""); }), "<no exception>");
}

TEST(Agree, EmptyAndLongMessagesTravelIntact) {
  const int last = test::ranks() - 1;
  EXPECT_EQ(error_of([&] { agree(MPI_COMM_WORLD, test::rank() != last, ""); }), "");
  std::string long_message(100000, 'x');
  long_message[0] = 'A';
  long_message.back() = 'Z';
  const std::string got = error_of([&] { agree(MPI_COMM_WORLD, test::rank() != last, test::rank() == last ? long_message : "short"); });
  EXPECT_EQ(got.size(), 100000u);
  EXPECT_EQ(got, long_message);
}

TEST(AgreeOn, ABodyThatThrowsOnOneRankThrowsEverywhere) {
  const int rank = test::rank(), last = test::ranks() - 1;
  int ran = 0;
  const std::string message = error_of([&] {
    agree_on(MPI_COMM_WORLD, [&] {
      ++ran;
      if (rank == last) fail("in.h5ad", "obs/clusters", "code 9 but only 4 categories");
    });
  });
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(message, "in.h5ad: obs/clusters: code 9 but only 4 categories");
}

TEST(AgreeOn, StdExceptionsBecomeVelofieldErrors) {
  const int last = test::ranks() - 1;
  const std::string message = error_of([&] {
    agree_on(MPI_COMM_WORLD, [&] {
      if (test::rank() == last) throw std::out_of_range("index 12 out of range");
    });
  });
  EXPECT_EQ(message, "index 12 out of range");
}

TEST(AgreeOn, NoThrowWhenEveryBodySucceeds) {
  int ran = 0;
  EXPECT_NO_THROW(agree_on(MPI_COMM_WORLD, [&] { ++ran; }));
  EXPECT_EQ(ran, 1);
  int total = 0;
  MPI_Allreduce(&ran, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, test::ranks());
}

TEST(StageTimer, WallTimeIsTheMaxOverRanksAndEqualEverywhere) {
  Timings::get().clear();
  const int rank = test::rank(), size = test::ranks();
  MPI_Barrier(MPI_COMM_WORLD);
  StageTimer timer(MPI_COMM_WORLD, "sleepy");
  std::this_thread::sleep_for(std::chrono::milliseconds(20 * rank));
  const StageRecord r = timer.stop(1000, 50);

  EXPECT_GE(r.wall_seconds, 0.02 * (size - 1));
  EXPECT_LT(r.wall_seconds, 0.02 * (size - 1) + 30.0);
  double lo = r.wall_seconds, hi = r.wall_seconds;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(lo, hi) << "every rank must report the same (max) wall time";

  EXPECT_EQ(r.stage, "sleepy");
  EXPECT_EQ(r.cells, 1000);
  EXPECT_EQ(r.genes, 50);
  EXPECT_EQ(r.ranks, size);
  ASSERT_EQ(r.peak_rss_bytes.size(), static_cast<size_t>(size));
  for (int q = 0; q < size; ++q) EXPECT_GT(r.peak_rss_bytes[static_cast<size_t>(q)], 0) << "rank " << q;
  // This rank's entry is this rank's own peak (which only grows).
  EXPECT_LE(r.peak_rss_bytes[static_cast<size_t>(rank)], peak_rss_bytes());
  EXPECT_GT(r.peak_rss_bytes[static_cast<size_t>(rank)], peak_rss_bytes() / 2);
  // Every rank holds the same per-rank vector.
  std::vector<int64_t> root = r.peak_rss_bytes;
  MPI_Bcast(root.data(), size, MPI_INT64_T, 0, MPI_COMM_WORLD);
  EXPECT_EQ(root, r.peak_rss_bytes);

  ASSERT_EQ(Timings::get().records().size(), 1u);
  EXPECT_EQ(Timings::get().records()[0].stage, "sleepy");
  EXPECT_EQ(Timings::get().records()[0].wall_seconds, r.wall_seconds);
  Timings::get().clear();
}

TEST(Timings, WriteJsonWritesWhatWasRecorded) {
  Timings::get().clear();
  const int size = test::ranks();
  StageRecord a;
  a.stage = "preprocess";
  a.wall_seconds = 1.25;
  a.peak_rss_bytes.assign(static_cast<size_t>(size), 0);
  for (int q = 0; q < size; ++q) a.peak_rss_bytes[static_cast<size_t>(q)] = (int64_t{1} << 32) + q;
  a.cells = 3696;
  a.genes = 2000;
  a.ranks = size;
  StageRecord b;
  b.stage = "moments";
  b.wall_seconds = 0.5;
  b.peak_rss_bytes.assign(static_cast<size_t>(size), 1048576);
  b.cells = 3696;
  b.genes = 1999;
  b.ranks = size;
  Timings::get().add(a);
  Timings::get().add(b);

  const std::string dir = test::temp_dir();
  const std::string path = dir + "/timings.json";
  ASSERT_NO_THROW(Timings::get().write_json(path, MPI_COMM_WORLD));
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_TRUE(j.contains("stages"));
  const auto& stages = j.at("stages");
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].at("stage").get<std::string>(), "preprocess");
  EXPECT_EQ(stages[0].at("wall_seconds").get<double>(), 1.25);
  EXPECT_EQ(stages[0].at("cells").get<int64_t>(), 3696);
  EXPECT_EQ(stages[0].at("genes").get<int64_t>(), 2000);
  EXPECT_EQ(stages[0].at("ranks").get<int>(), size);
  EXPECT_EQ(stages[0].at("peak_rss_bytes_per_rank").get<std::vector<int64_t>>(), a.peak_rss_bytes);
  EXPECT_EQ(stages[1].at("stage").get<std::string>(), "moments");
  EXPECT_EQ(stages[1].at("wall_seconds").get<double>(), 0.5);
  EXPECT_EQ(stages[1].at("genes").get<int64_t>(), 1999);
  EXPECT_EQ(stages[1].at("ranks").get<int>(), size);
  EXPECT_EQ(stages[1].at("peak_rss_bytes_per_rank").get<std::vector<int64_t>>(), b.peak_rss_bytes);

  // An unwritable path is an error on every rank, naming the path and the option.
  const std::string bad = dir + "/no/such/dir/timings.json";
  EXPECT_EQ(error_of([&] { Timings::get().write_json(bad, MPI_COMM_WORLD); }),
            bad + ": --timings: cannot write the timings file");

  Timings::get().clear();
  MPI_Barrier(MPI_COMM_WORLD);
  if (test::rank() == 0) std::filesystem::remove_all(dir);
}

TEST(Agree, SameMessageOnEveryRank) {
  // The agreed message is identical on all ranks, not just equal to what this rank expected.
  const int last = test::ranks() - 1;
  const std::string message = error_of([&] { agree(MPI_COMM_WORLD, test::rank() != last, "only the last rank knows"); });
  for (const auto& m : all_gather(message)) EXPECT_EQ(m, "only the last rank knows");
}
