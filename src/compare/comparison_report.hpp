#pragma once
// What `compare-velocity` measured, as uns/velocity_comparison and as a Markdown report.
#include <string>
#include <vector>

#include "data/uns.hpp"
#include "evaluate/transition_scores.hpp"

namespace velofield {

struct MethodOutcome {
  std::string name;
  std::string origin;        // "ran" or "read" (layers/velocity_S_<name> was in the input)
  double seconds = 0;        // wall seconds of the method's run (0 when read)
  double mean_weight = 0;    // mean consensus weight over the cells
  double cbdir = 0, iccoh = 0;   // means over transitions / clusters (NaN when not scored)
  std::vector<GroupScore> cbdir_groups, iccoh_groups;
};

struct ComparisonSummary {
  std::vector<MethodOutcome> methods;   // the methods, then "consensus"
  std::vector<double> agreement_median, agreement_mean;   // methods × methods (consensus excluded)
  int64_t genes = 0, n_vars = 0, n_obs = 0;
  std::string pca_basis, basis, transitions, neighbor_source;
  double agreement_cell_median = 0, agreement_cell_mean = 0;
  std::vector<std::string> notes;
};

UnsNode comparison_uns(const ComparisonSummary& s, const std::vector<std::string>& gene_names);
std::string comparison_markdown(const ComparisonSummary& s);

}  // namespace velofield
