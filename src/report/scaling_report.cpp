#include "report/scaling_report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "plot/line_chart.hpp"

namespace velofield::report {

TimedRun load_timings(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the timings file");
  TimedRun run;
  run.file = path;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& s : j.at("stages")) {
      const std::string name = s.at("stage").get<std::string>();
      if (!run.seconds.count(name)) run.stages.push_back(name);
      run.seconds[name] += s.at("wall_seconds").get<double>();
      run.ranks = s.at("ranks").get<int>();
      run.cells = std::max(run.cells, s.at("cells").get<long long>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a velofield timings file (" + e.what() + ")");
  }
  if (run.stages.empty()) throw Error(path + ": no stages recorded");
  return run;
}

ScalingTable scaling_table(std::vector<TimedRun> runs, bool weak) {
  if (runs.empty()) throw Error("scaling report: no timings files given");
  std::sort(runs.begin(), runs.end(), [](const TimedRun& a, const TimedRun& b) { return a.ranks < b.ranks; });
  for (size_t i = 1; i < runs.size(); ++i)
    if (runs[i].ranks == runs[i - 1].ranks)
      throw Error("scaling report: " + runs[i - 1].file + " and " + runs[i].file + " both ran on " + std::to_string(runs[i].ranks) + " ranks");
  ScalingTable t;
  t.weak = weak;
  for (const auto& r : runs) {
    t.ranks.push_back(r.ranks);
    t.cells.push_back(r.cells);
  }
  for (const auto& s : runs.front().stages) {
    bool everywhere = true;
    for (const auto& r : runs) everywhere = everywhere && r.seconds.count(s);
    if (everywhere) t.stages.push_back(s);
  }
  t.stages.push_back("total");
  for (const auto& s : t.stages) {
    auto& sec = t.seconds[s];
    for (const auto& r : runs) {
      double v = 0;
      if (s == "total") {
        for (const auto& name : t.stages) if (name != "total") v += r.seconds.at(name);
      } else {
        v = r.seconds.at(s);
      }
      sec.push_back(v);
    }
    const double base = sec.front() * runs.front().ranks;   // work in rank-seconds at the smallest count
    for (size_t i = 0; i < runs.size(); ++i) {
      const double n = static_cast<double>(runs[i].ranks) / runs.front().ranks;
      const double speedup = sec[i] > 0 ? sec.front() / sec[i] : 0;
      t.speedup[s].push_back(weak ? speedup * n : speedup);
      t.efficiency[s].push_back(sec[i] > 0 ? (weak ? sec.front() / sec[i] : base / (runs[i].ranks * sec[i])) : 0);
    }
  }
  return t;
}

std::string format_markdown(const ScalingTable& t) {
  std::string out = std::string(t.weak ? "Weak" : "Strong") + " scaling (";
  for (size_t i = 0; i < t.ranks.size(); ++i)
    out += (i ? ", " : "") + std::to_string(t.ranks[i]) + " ranks: " + std::to_string(t.cells[i]) + " cells";
  out += ")\n\n| stage |";
  for (int r : t.ranks) out += " " + std::to_string(r) + " ranks s |";
  for (size_t i = 1; i < t.ranks.size(); ++i) out += std::string(t.weak ? "" : " speedup ") + (t.weak ? "" : std::to_string(t.ranks[i]) + " |") + " efficiency " + std::to_string(t.ranks[i]) + " |";
  out += "\n|---|";
  for (size_t i = 0; i < t.ranks.size(); ++i) out += "---|";
  for (size_t i = 1; i < t.ranks.size(); ++i) out += t.weak ? "---|" : "---|---|";
  out += "\n";
  for (const auto& s : t.stages) {
    out += "| " + s + " |";
    char b[64];
    for (double v : t.seconds.at(s)) { std::snprintf(b, sizeof b, " %.3f |", v); out += b; }
    for (size_t i = 1; i < t.ranks.size(); ++i) {
      if (!t.weak) { std::snprintf(b, sizeof b, " %.2f |", t.speedup.at(s)[i]); out += b; }
      std::snprintf(b, sizeof b, " %.0f%% |", 100 * t.efficiency.at(s)[i]);
      out += b;
    }
    out += "\n";
  }
  return out;
}

std::string format_tsv(const ScalingTable& t) {
  std::string out = "stage\tranks\tcells\tseconds\tspeedup\tefficiency\n";
  char b[256];
  for (const auto& s : t.stages)
    for (size_t i = 0; i < t.ranks.size(); ++i) {
      std::snprintf(b, sizeof b, "%s\t%d\t%lld\t%.6f\t%.4f\t%.4f\n", s.c_str(), t.ranks[i], t.cells[i], t.seconds.at(s)[i],
                    t.speedup.at(s)[i], t.efficiency.at(s)[i]);
      out += b;
    }
  return out;
}

void plot_efficiency(const ScalingTable& t, const std::string& path) {
  // One line per pipeline stage that matters: sub-steps ("moments: smoothing", "preprocess.pca") and
  // stages under 1 % of the smallest run's total are left to the table, so the legend stays readable.
  const double total = t.seconds.count("total") ? t.seconds.at("total").front() : 0;
  std::vector<plot::Series> series;
  for (const auto& s : t.stages) {
    const bool sub_step = s.find(": ") != std::string::npos || s.find('.') != std::string::npos;
    if (s != "total" && (sub_step || t.seconds.at(s).front() < 0.01 * total)) continue;
    plot::Series line{s, {}, {}};
    for (size_t i = 0; i < t.ranks.size(); ++i) {
      line.x.push_back(t.ranks[i]);
      line.y.push_back(t.efficiency.at(s)[i]);
    }
    series.push_back(line);
  }
  plot::LineChartOptions o;
  o.title = std::string(t.weak ? "Weak" : "Strong") + " scaling: parallel efficiency per stage";
  o.x_label = "MPI ranks";
  o.y_label = "parallel efficiency";
  o.y_min = 0;
  o.reference_y = 1.0;
  o.reference_label = "ideal";
  plot::draw_line_chart(path, series, o);
}

}  // namespace velofield::report
