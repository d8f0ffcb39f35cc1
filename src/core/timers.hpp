#pragma once
// Stage timers: wall time as the max over ranks, peak RSS per rank, written as JSON with --timings.
#include <mpi.h>
#include <cstdint>
#include <string>
#include <vector>

namespace velofield {

struct StageRecord {
  std::string stage;
  double wall_seconds = 0;               // max over ranks
  std::vector<int64_t> peak_rss_bytes;   // one per rank, after the stage
  std::vector<int64_t> baseline_rss_bytes;   // one per rank: RSS once the libraries were loaded
  int64_t cells = 0, genes = 0;
  int ranks = 1;
};

class Timings {
 public:
  static Timings& get();
  void add(StageRecord record) { records_.push_back(std::move(record)); }
  const std::vector<StageRecord>& records() const { return records_; }
  void clear() { records_.clear(); }
  // RSS of the process before any data was read (libraries, MPI buffers): what a stage's peak is
  // measured against when memory per cell is reported. Set by Runtime.
  void set_baseline_rss(int64_t bytes) { baseline_rss_ = bytes; }
  int64_t baseline_rss() const { return baseline_rss_; }
  // Rank 0 writes; collective only in that the caller calls it on every rank.
  void write_json(const std::string& path, MPI_Comm comm) const;

 private:
  std::vector<StageRecord> records_;
  int64_t baseline_rss_ = 0;
};

// RAII scope: logs "stage ..." on entry, and on stop() records wall time (max over ranks) and
// per-rank peak RSS, and logs the time. stop() is collective; call it on every rank.
class StageTimer {
 public:
  StageTimer(MPI_Comm comm, std::string stage);
  // Collective. cells/genes describe the data the stage ran on.
  StageRecord stop(int64_t cells, int64_t genes);

 private:
  MPI_Comm comm_;
  std::string stage_;
  double start_;
};

}  // namespace velofield
