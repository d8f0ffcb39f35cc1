#pragma once
// Which genes the transition kernel uses: var['use_for_transition'] (written by the dynamics
// stage), or, where a file lacks it, dynamo's rule from the fitted kinetics in var: gamma > 0.01,
// gamma_r2 > 0.01 and use_for_dynamics, with the fallback to the 50 genes of largest |gamma_r2|
// when fewer than 5 pass.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct TransitionGenes {
  std::vector<int64_t> genes;   // var indices, ascending
  bool derived = false;         // true: computed from gamma / gamma_r2 (then written back to var)
  std::string origin;           // for the log: "var/use_for_transition" or the rule applied
};

// Not collective (var is replicated, so every rank reaches the same answer or the same error).
// Throws velofield::Error naming var/use_for_transition when no gene qualifies.
TransitionGenes transition_genes(const Dataset& dataset);

// Writes var['use_for_transition'] as a boolean column.
void store_transition_genes(Dataset& dataset, const std::vector<int64_t>& genes);

}  // namespace velofield
