#include "compare/comparison_report.hpp"

#include <cmath>
#include <cstdio>

namespace velofield {

namespace {

UnsNode numbers(const std::vector<double>& v, std::vector<int64_t> shape) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(v);
  return UnsNode::numeric(std::move(a));
}

std::string fixed(double v, int digits = 3) {
  if (!std::isfinite(v)) return "–";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

}  // namespace

UnsNode comparison_uns(const ComparisonSummary& s, const std::vector<std::string>& gene_names) {
  UnsNode u = UnsNode::dict();
  const int64_t M = static_cast<int64_t>(s.methods.size()) - 1;   // without the consensus
  std::vector<std::string> names, origins;
  std::vector<double> seconds, weights, cbdir, iccoh;
  for (const auto& m : s.methods) {
    names.push_back(m.name);
    origins.push_back(m.origin);
    seconds.push_back(m.seconds);
    weights.push_back(m.mean_weight);
    cbdir.push_back(m.cbdir);
    iccoh.push_back(m.iccoh);
  }
  u["methods"] = UnsNode::string_array(names);
  u["origin"] = UnsNode::string_array(origins);
  u["seconds"] = numbers(seconds, {static_cast<int64_t>(seconds.size())});
  u["mean_weight"] = numbers(weights, {static_cast<int64_t>(weights.size())});
  u["cbdir"] = numbers(cbdir, {static_cast<int64_t>(cbdir.size())});
  u["iccoh"] = numbers(iccoh, {static_cast<int64_t>(iccoh.size())});
  u["agreement_median"] = numbers(s.agreement_median, {M, M});
  u["agreement_mean"] = numbers(s.agreement_mean, {M, M});
  u["genes"] = UnsNode::string_array(gene_names);
  u["scale"] = UnsNode::string("per-gene root mean square over the cells");
  u["pca_basis"] = UnsNode::string(s.pca_basis);
  u["basis"] = UnsNode::string(s.basis);
  u["transitions"] = UnsNode::string(s.transitions);
  // Per transition: methods (and consensus) × transitions.
  if (!s.methods.empty() && !s.methods.front().cbdir_groups.empty()) {
    std::vector<std::string> groups;
    for (const auto& g : s.methods.front().cbdir_groups) groups.push_back(g.name);
    std::vector<double> table;
    for (const auto& m : s.methods)
      for (size_t k = 0; k < groups.size(); ++k) table.push_back(k < m.cbdir_groups.size() ? m.cbdir_groups[k].score : NAN);
    u["cbdir_transitions"] = UnsNode::string_array(groups);
    u["cbdir_per_transition"] = numbers(table, {static_cast<int64_t>(s.methods.size()), static_cast<int64_t>(groups.size())});
  }
  return u;
}

std::string comparison_markdown(const ComparisonSummary& s) {
  std::string out = "# Velocity comparison\n\n";
  out += std::to_string(s.n_obs) + " cells; " + std::to_string(s.genes) + " of " + std::to_string(s.n_vars) +
         " genes have a velocity in every method (the comparison genes). Agreement: cosine of the methods' velocities "
         "projected to obsm X_" + s.pca_basis + " (cell-velocities on the comparison genes); per cell the mean over method pairs "
         "(median " + fixed(s.agreement_cell_median) + ", mean " + fixed(s.agreement_cell_mean) + ").\n\n";
  out += "## CBDir and ICCoh per method\n\n";
  out += "Transitions: `" + (s.transitions.empty() ? std::string("none") : s.transitions) + "`; embedding X_" + s.basis +
         "; neighbours: " + (s.neighbor_source.empty() ? std::string("–") : s.neighbor_source) + ".\n\n";
  out += "| method | velocity | seconds | mean consensus weight | CBDir | ICCoh |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& m : s.methods)
    out += "| " + m.name + " | " + m.origin + " | " + (m.origin == "ran" ? fixed(m.seconds, 1) : std::string("–")) + " | " +
           (m.name == "consensus" ? std::string("–") : fixed(m.mean_weight)) + " | " + fixed(m.cbdir) + " | " + fixed(m.iccoh) + " |\n";
  if (!s.methods.empty() && !s.methods.front().cbdir_groups.empty()) {
    out += "\n### CBDir per transition\n\n| transition |";
    for (const auto& m : s.methods) out += " " + m.name + " |";
    out += "\n| --- |";
    for (size_t k = 0; k < s.methods.size(); ++k) out += " --- |";
    out += "\n";
    for (size_t g = 0; g < s.methods.front().cbdir_groups.size(); ++g) {
      out += "| " + s.methods.front().cbdir_groups[g].name + " |";
      for (const auto& m : s.methods) out += " " + (g < m.cbdir_groups.size() ? fixed(m.cbdir_groups[g].score) : std::string("–")) + " |";
      out += "\n";
    }
  }
  const size_t M = s.methods.size() - 1;
  out += "\n## Agreement matrix (median over cells of the PCA-space cosine)\n\n|  |";
  for (size_t a = 0; a < M; ++a) out += " " + s.methods[a].name + " |";
  out += "\n| --- |";
  for (size_t a = 0; a < M; ++a) out += " --- |";
  out += "\n";
  for (size_t a = 0; a < M; ++a) {
    out += "| " + s.methods[a].name + " |";
    for (size_t b = 0; b < M; ++b) out += " " + fixed(s.agreement_median[a * M + b]) + " |";
    out += "\n";
  }
  if (!s.notes.empty()) {
    out += "\n## Notes\n\n";
    for (const auto& n : s.notes) out += "- " + n + "\n";
  }
  return out;
}

}  // namespace velofield
