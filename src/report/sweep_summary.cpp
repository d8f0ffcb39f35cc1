#include "report/sweep_summary.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "plot/line_chart.hpp"
#include "report/scaling_report.hpp"

namespace velofield::report {

namespace {
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, double>& out) {
  if (j.is_number()) {
    out[prefix] = j.get<double>();
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix + "." + it.key(), out);
  }
}
}  // namespace

std::vector<SweepTask> load_sweep(const std::string& directory) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(directory)) throw Error(directory + ": not a directory");
  std::vector<SweepTask> tasks;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    int id = 0;
    char tail[16] = {0};
    if (std::sscanf(name.c_str(), "task_%d.%15s", &id, tail) != 2 || std::string(tail) != "params") continue;
    SweepTask t;
    t.task = id;
    std::ifstream in(entry.path());
    std::string line, token;
    std::getline(in, line);
    std::istringstream fields(line);
    while (std::getline(fields, token, '\t')) {
      const size_t eq = token.find('=');
      if (eq == std::string::npos) continue;
      t.params[token.substr(0, eq)] = token.substr(eq + 1);
    }
    const std::string stem = (fs::path(directory) / ("task_" + std::to_string(id))).string();
    if (fs::exists(stem + ".timings.json")) {
      const TimedRun run = load_timings(stem + ".timings.json");
      double total = 0;
      for (const auto& s : run.stages) {
        t.figures["seconds." + s] = run.seconds.at(s);
        total += run.seconds.at(s);
      }
      t.figures["seconds.total"] = total;
      std::ifstream jin(stem + ".timings.json");
      const nlohmann::json j = nlohmann::json::parse(jin);
      double rss = 0;
      for (const auto& s : j.at("stages"))
        for (const auto& v : s.at("peak_rss_bytes_per_rank")) rss = std::max(rss, v.get<double>());
      t.figures["peak_rss_mib"] = rss / 1048576.0;
    }
    if (fs::exists(stem + ".eval.json")) {
      std::ifstream ein(stem + ".eval.json");
      try {
        flatten(nlohmann::json::parse(ein), "eval", t.figures);
      } catch (const nlohmann::json::exception& e) {
        throw Error(stem + ".eval.json: " + e.what());
      }
    }
    tasks.push_back(std::move(t));
  }
  if (tasks.empty()) throw Error(directory + ": no task_*.params files (is this a sweep output directory?)");
  std::sort(tasks.begin(), tasks.end(), [](const SweepTask& a, const SweepTask& b) { return a.task < b.task; });
  return tasks;
}

std::string format_sweep_tsv(const std::vector<SweepTask>& tasks) {
  std::set<std::string> params, figures;
  for (const auto& t : tasks) {
    for (const auto& kv : t.params) params.insert(kv.first);
    for (const auto& kv : t.figures) figures.insert(kv.first);
  }
  std::string out = "task";
  for (const auto& p : params) out += "\t" + p;
  for (const auto& f : figures) out += "\t" + f;
  out += "\n";
  for (const auto& t : tasks) {
    out += std::to_string(t.task);
    for (const auto& p : params) out += "\t" + (t.params.count(p) ? t.params.at(p) : std::string());
    for (const auto& f : figures) {
      char b[64] = "";
      if (t.figures.count(f)) std::snprintf(b, sizeof b, "%.6g", t.figures.at(f));
      out += std::string("\t") + b;
    }
    out += "\n";
  }
  return out;
}

void plot_sweep(const std::vector<SweepTask>& tasks, const std::string& path) {
  plot::Series total{"total seconds", {}, {}};
  for (const auto& t : tasks) {
    if (!t.figures.count("seconds.total")) continue;
    total.x.push_back(t.task);
    total.y.push_back(t.figures.at("seconds.total"));
  }
  plot::LineChartOptions o;
  o.title = "Parameter sweep: wall time per task";
  o.x_label = "task";
  o.y_label = "seconds";
  o.y_min = 0;
  plot::draw_line_chart(path, {total}, o);
}

}  // namespace velofield::report
