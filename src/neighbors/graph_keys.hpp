#pragma once
// The stage keys of the neighbour graph, shared by every stage that builds one (moments, umap), so
// that the same option means the same thing in each INI section.
#include <string>
#include <vector>

#include "neighbors/neighbor_graph.hpp"
#include "pipeline/stage.hpp"

namespace velofield {

std::vector<StageKey> neighbor_graph_keys();
// Parses and checks them; errors name the option as the user wrote it.
NeighborGraphOptions neighbor_graph_options(const StageConfig& sc);
// "--moments.n_neighbors" / "run.ini: [moments] n_neighbors" where the user set it, else "--n_neighbors".
std::string option_name(const StageConfig& sc, const std::string& key);
int int_option(const StageConfig& sc, const std::string& key, long long minimum);

}  // namespace velofield
