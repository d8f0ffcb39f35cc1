#include "core/timers.hpp"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/text_file.hpp"

namespace velofield {

Timings& Timings::get() {
  static Timings timings;
  return timings;
}

void Timings::write_json(const std::string& path, MPI_Comm comm) const {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string text;
  if (rank == 0) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& r : records_) {
      stages.push_back({{"stage", r.stage},
                        {"wall_seconds", r.wall_seconds},
                        {"peak_rss_bytes_per_rank", r.peak_rss_bytes},
                        {"baseline_rss_bytes_per_rank", r.baseline_rss_bytes},
                        {"cells", r.cells},
                        {"genes", r.genes},
                        {"ranks", r.ranks}});
    }
    text = nlohmann::json{{"stages", stages}}.dump(2) + "\n";
  }
  write_text_file_on_rank0(comm, path, text, "--timings", "timings file");
}

StageTimer::StageTimer(MPI_Comm comm, std::string stage)
    : comm_(comm), stage_(std::move(stage)), start_(MPI_Wtime()) {
  log().info(cat("[", stage_, "] start"));
}

StageRecord StageTimer::stop(int64_t cells, int64_t genes) {
  StageRecord r;
  r.stage = stage_;
  double elapsed = MPI_Wtime() - start_;
  MPI_Allreduce(&elapsed, &r.wall_seconds, 1, MPI_DOUBLE, MPI_MAX, comm_);
  MPI_Comm_size(comm_, &r.ranks);
  int64_t rss = peak_rss_bytes();
  r.peak_rss_bytes.resize(static_cast<size_t>(r.ranks));
  MPI_Allgather(&rss, 1, MPI_INT64_T, r.peak_rss_bytes.data(), 1, MPI_INT64_T, comm_);
  int64_t baseline = Timings::get().baseline_rss();
  r.baseline_rss_bytes.resize(static_cast<size_t>(r.ranks));
  MPI_Allgather(&baseline, 1, MPI_INT64_T, r.baseline_rss_bytes.data(), 1, MPI_INT64_T, comm_);
  r.cells = cells;
  r.genes = genes;
  int64_t max_rss = 0;
  for (auto v : r.peak_rss_bytes) max_rss = std::max(max_rss, v);
  char line[256];
  std::snprintf(line, sizeof line, "[%s] done in %.3f s (peak RSS %.1f MiB/rank max)", stage_.c_str(),
                r.wall_seconds, static_cast<double>(max_rss) / (1024.0 * 1024.0));
  log().info(line);
  Timings::get().add(r);
  return r;
}

}  // namespace velofield
