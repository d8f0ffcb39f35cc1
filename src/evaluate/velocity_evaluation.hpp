#pragma once
// `velofield evaluate`: how well a velocity matches the truth (per-cell cosine in gene space and in
// an embedding) and the known cluster transitions (CBDir, ICCoh). Every rank scores its own
// cells; the summaries are reduced exactly, so the report is the same at any rank count.
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "evaluate/score_summary.hpp"
#include "evaluate/transition_scores.hpp"

namespace velofield {

struct EvaluateOptions {
  std::string velocity = "velocity_S";       // layer with the estimated velocity
  std::string truth = "true_velocity_S";     // layer with the true velocity
  bool truth_required = false;               // false: skip the gene-space cosine when absent
  std::string basis;                         // embedding name: obsm X_<basis>, velocity_<basis>
  std::string embedding_velocity;            // default velocity_<basis>
  std::string embedding_truth;               // default true_velocity_<basis>
  std::string transitions;                   // "A>B,B>C"; empty: uns/simulation/transitions if present
  std::string cluster_key = "clusters";
  std::string graph = "connectivities";      // obsp key; absent: exact kNN in X_<basis>
  int n_neighbors = 30;
};

struct CosineReport {
  std::string estimate, truth;   // slot paths ("layers/velocity_S")
  ScoreSummary summary;          // over the cells whose truth is not all zero
  int64_t cells_without_truth = 0;   // truth zero (or non-finite) everywhere: no direction to score
  int64_t values_per_cell = 0;       // genes (or embedding dimensions) compared
  int64_t nonfinite_columns = 0;     // estimate columns holding NaN/Inf somewhere (ignored per cell)
};

struct EvaluationReport {
  std::string file;
  int64_t n_obs = 0, n_vars = 0;
  EvaluateOptions options;
  std::optional<CosineReport> gene_cosine, embedding_cosine;
  std::string transitions_text, transitions_origin;   // what was scored, and where it came from
  std::string neighbor_source;
  std::optional<std::vector<GroupScore>> cbdir, iccoh;
  double cbdir_mean = 0, iccoh_mean = 0;
  std::vector<std::string> notes;   // metrics skipped and why

  std::string json() const;    // the --out report
  std::string table() const;   // what the command prints
};

// Collective. Throws velofield::Error "FILE: KEY: PROBLEM" on every rank for a missing slot that was
// asked for, a shape mismatch, an unknown cluster, or a non-finite embedding.
EvaluationReport evaluate_velocity(const Dataset& dataset, const EvaluateOptions& options);

}  // namespace velofield
