#pragma once
// One table from a parameter sweep's task directory: for each task_<i>, the overrides it ran with
// (task_<i>.params: tab-separated section.key=value), its per-stage seconds and peak memory
// (task_<i>.timings.json) and its quality figures (task_<i>.eval.json from `velofield evaluate`,
// numeric leaves flattened as a.b.c).
#include <map>
#include <string>
#include <vector>

namespace velofield::report {

struct SweepTask {
  int task = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, double> figures;     // "seconds.<stage>", "seconds.total", "peak_rss_mib", "eval.<path>"
};

// Throws velofield::Error when the directory holds no task_*.params.
std::vector<SweepTask> load_sweep(const std::string& directory);
std::string format_sweep_tsv(const std::vector<SweepTask>& tasks);
// Total seconds (and the first eval figure, if any) per task.
void plot_sweep(const std::vector<SweepTask>& tasks, const std::string& path);

}  // namespace velofield::report
