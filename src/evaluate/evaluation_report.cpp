// The evaluation report as JSON (--out) and as the table `velofield evaluate` prints.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "evaluate/velocity_evaluation.hpp"

namespace velofield {

namespace {
using nlohmann::ordered_json;

// JSON has no NaN: an undefined score (no cells to score) is null.
ordered_json number(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

ordered_json cosine_json(const CosineReport& r) {
  ordered_json j;
  j["estimate"] = r.estimate;
  j["truth"] = r.truth;
  j["cells_scored"] = r.summary.count;
  j["cells_without_truth"] = r.cells_without_truth;
  j["mean"] = number(r.summary.mean);
  j["median"] = number(r.summary.median);
  j["fraction_positive"] = number(r.summary.fraction_positive);
  j["values_compared"] = r.values_per_cell;
  j["nonfinite_columns_ignored"] = r.nonfinite_columns;
  return j;
}

ordered_json groups_json(const std::vector<GroupScore>& groups, double mean) {
  ordered_json j;
  ordered_json per = ordered_json::object();
  for (const auto& g : groups) per[g.name] = {{"score", number(g.score)}, {"cells", g.cells}};
  j["groups"] = per;
  j["mean"] = number(mean);
  return j;
}

std::string fmt(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

void cosine_line(std::ostringstream& s, const std::string& label, const CosineReport& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-44s %10lld %9s %9s %9s\n", label.c_str(), static_cast<long long>(r.summary.count),
                fmt(r.summary.mean).c_str(), fmt(r.summary.median).c_str(), fmt(r.summary.fraction_positive).c_str());
  s << buf;
}

void group_lines(std::ostringstream& s, const std::string& metric, const std::vector<GroupScore>& groups, double mean) {
  char buf[512];
  for (const auto& g : groups) {
    std::snprintf(buf, sizeof buf, "  %-6s %-40s %10lld %9s\n", metric.c_str(), g.name.c_str(), static_cast<long long>(g.cells),
                  fmt(g.score).c_str());
    s << buf;
  }
  std::snprintf(buf, sizeof buf, "  %-6s %-40s %10s %9s\n", metric.c_str(), "mean", "", fmt(mean).c_str());
  s << buf;
}
}  // namespace

std::string EvaluationReport::json() const {
  ordered_json j;
  j["file"] = file;
  j["n_obs"] = n_obs;
  j["n_vars"] = n_vars;
  j["velocity"] = "layers/" + options.velocity;
  j["cosine_genes"] = gene_cosine ? cosine_json(*gene_cosine) : ordered_json(nullptr);
  j["cosine_embedding"] = embedding_cosine ? cosine_json(*embedding_cosine) : ordered_json(nullptr);
  if (cbdir || iccoh) {
    j["transitions"] = transitions_text;
    j["transitions_from"] = transitions_origin;
    j["cluster_key"] = "obs/" + options.cluster_key;
    j["neighbors"] = neighbor_source;
  }
  j["cbdir"] = cbdir ? groups_json(*cbdir, cbdir_mean) : ordered_json(nullptr);
  j["iccoh"] = iccoh ? groups_json(*iccoh, iccoh_mean) : ordered_json(nullptr);
  j["notes"] = notes;
  return j.dump(2) + "\n";
}

std::string EvaluationReport::table() const {
  std::ostringstream s;
  s << "velocity evaluation of " << file << " (" << n_obs << " cells x " << n_vars << " genes), velocity layers/" << options.velocity
    << "\n";
  if (gene_cosine || embedding_cosine) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-44s %10s %9s %9s %9s\n", "cosine to the truth", "cells", "mean", "median", "frac>0");
    s << buf;
    if (gene_cosine) cosine_line(s, "genes (" + gene_cosine->truth + ")", *gene_cosine);
    if (embedding_cosine) cosine_line(s, "embedding (" + embedding_cosine->truth + ")", *embedding_cosine);
  }
  if (cbdir || iccoh) {
    s << "  transitions " << transitions_text << " (" << transitions_origin << "), neighbours: " << neighbor_source << "\n";
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-6s %-40s %10s %9s\n", "metric", "group", "cells", "score");
    s << buf;
    if (cbdir) group_lines(s, "CBDir", *cbdir, cbdir_mean);
    if (iccoh) group_lines(s, "ICCoh", *iccoh, iccoh_mean);
  }
  for (const auto& n : notes) s << "  note: " << n << "\n";
  return s.str();
}

}  // namespace velofield
