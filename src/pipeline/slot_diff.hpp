#pragma once
// What a stage added, removed or replaced, by slot name (like dynamo's "CHANGES DETECTED"), shown
// after each stage so a user sees where the results went.
#include <map>
#include <set>
#include <string>

#include "data/dataset.hpp"

namespace velofield {

struct SlotSnapshot {
  std::map<std::string, std::set<std::string>> keys;   // "obs" -> column names, "layers" -> ..., "uns" -> top keys
  int64_t n_obs = 0, n_vars = 0;
};

SlotSnapshot snapshot(const Dataset& dataset);
// A framed block listing the slots added/removed per group, or "" when nothing changed.
std::string describe_changes(const SlotSnapshot& before, const SlotSnapshot& after, const std::string& stage);

}  // namespace velofield
