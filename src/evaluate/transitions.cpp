#include "evaluate/transitions.hpp"

#include "core/config.hpp"
#include "core/error.hpp"

namespace velofield {

namespace {
// Splits at `sep` outside braces.
std::vector<std::string> split_top(const std::string& text, char sep, const std::string& key) {
  std::vector<std::string> out{""};
  int depth = 0;
  for (char c : text) {
    if (c == '{') ++depth;
    if (c == '}' && --depth < 0) fail("", key, "unbalanced '}' in '" + text + "'");
    if (c == sep && depth == 0) out.emplace_back();
    else out.back() += c;
  }
  if (depth != 0) fail("", key, "unbalanced '{' in '" + text + "'");
  return out;
}

std::vector<std::string> stage_names(const std::string& stage, const std::string& key) {
  const std::string t = trim(stage);
  std::vector<std::string> names;
  if (!t.empty() && t.front() == '{') {
    if (t.back() != '}') fail("", key, "expected {name, name, ...}, found '" + t + "'");
    for (const auto& part : split_top(t.substr(1, t.size() - 2), ',', key)) names.push_back(trim(part));
  } else {
    names.push_back(t);
  }
  for (const auto& n : names)
    if (n.empty()) fail("", key, "an empty cluster name in '" + stage + "' (expected \"A>B,B>C\")");
  return names;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> parse_transitions(const std::string& text, const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& chain : split_top(text, ',', key)) {
    if (trim(chain).empty()) continue;
    const std::vector<std::string> stages = split_top(chain, '>', key);
    if (stages.size() < 2) fail("", key, "'" + trim(chain) + "' is not a transition (expected FROM>TO)");
    for (size_t s = 0; s + 1 < stages.size(); ++s)
      for (const auto& from : stage_names(stages[s], key))
        for (const auto& to : stage_names(stages[s + 1], key)) out.emplace_back(from, to);
  }
  if (out.empty()) fail("", key, "no transitions in '" + text + "'");
  return out;
}

}  // namespace velofield
