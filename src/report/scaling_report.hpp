#pragma once
// Strong/weak scaling tables from the --timings files of runs at several rank counts:
// per stage, seconds, speedup and parallel efficiency (strong: S = t1/tN, E = t1/(N·tN);
// weak: E = t1/tN, speedup not meaningful).
#include <map>
#include <string>
#include <vector>

namespace velofield::report {

struct TimedRun {
  std::string file;
  int ranks = 1;
  long long cells = 0;
  std::vector<std::string> stages;             // in run order
  std::map<std::string, double> seconds;       // stage -> wall seconds (summed if a stage repeats)
};

// Reads a `--timings` JSON file; throws velofield::Error naming the file on malformed content.
TimedRun load_timings(const std::string& path);

struct ScalingTable {
  bool weak = false;
  std::vector<int> ranks;                      // ascending
  std::vector<long long> cells;                // per rank count
  std::vector<std::string> stages;             // stages present in every run, plus "total"
  std::map<std::string, std::vector<double>> seconds, speedup, efficiency;
};

// Throws when runs repeat a rank count or the smallest run is missing a stage.
ScalingTable scaling_table(std::vector<TimedRun> runs, bool weak);
std::string format_markdown(const ScalingTable& table);
std::string format_tsv(const ScalingTable& table);
void plot_efficiency(const ScalingTable& table, const std::string& path);

}  // namespace velofield::report
