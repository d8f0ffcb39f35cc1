#include "pipeline/slot_diff.hpp"

#include <sstream>

namespace velofield {

namespace {
template <class Map>
std::set<std::string> names(const Map& m) {
  std::set<std::string> out;
  for (const auto& kv : m) out.insert(kv.first);
  return out;
}

std::string joined(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}
}  // namespace

SlotSnapshot snapshot(const Dataset& d) {
  SlotSnapshot s;
  s.n_obs = d.n_obs;
  s.n_vars = d.n_vars;
  s.keys["obs"] = names(d.obs.columns);
  s.keys["var"] = names(d.var.columns);
  s.keys["layers"] = names(d.layers);
  s.keys["obsm"] = names(d.obsm);
  s.keys["varm"] = names(d.varm);
  s.keys["obsp"] = names(d.obsp);
  s.keys["uns"] = names(d.uns.children);
  if (d.X) s.keys["X"] = {"X"};
  return s;
}

std::string describe_changes(const SlotSnapshot& before, const SlotSnapshot& after, const std::string& stage) {
  std::ostringstream body;
  if (before.n_obs != after.n_obs || before.n_vars != after.n_vars)
    body << "│ shape: " << before.n_obs << " × " << before.n_vars << " → " << after.n_obs << " × " << after.n_vars << "\n";
  for (const auto& [group, now] : after.keys) {
    auto it = before.keys.find(group);
    const std::set<std::string> empty;
    const std::set<std::string>& was = it == before.keys.end() ? empty : it->second;
    std::set<std::string> added, removed;
    for (const auto& k : now) if (!was.count(k)) added.insert(k);
    for (const auto& k : was) if (!now.count(k)) removed.insert(k);
    if (!added.empty()) body << "│ " << group << " + " << joined(added) << "\n";
    if (!removed.empty()) body << "│ " << group << " − " << joined(removed) << "\n";
  }
  for (const auto& [group, was] : before.keys)
    if (!after.keys.count(group) && !was.empty()) body << "│ " << group << " − " << joined(was) << "\n";
  if (body.str().empty()) return "";
  return "┌ " + stage + ": slots changed\n" + body.str() + "└\n";
}

}  // namespace velofield
