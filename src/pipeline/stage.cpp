#include "pipeline/stage.hpp"

#include "core/error.hpp"

namespace velofield {

namespace {
std::vector<Stage>& registry() {
  static std::vector<Stage> r;
  return r;
}
}  // namespace

const StageKey& StageConfig::declared(const std::string& key) const {
  for (const auto& k : keys_)
    if (k.name == key) return k;
  throw Error("internal: stage [" + section_ + "] asked for undeclared key '" + key + "'");
}

std::string StageConfig::get_string(const std::string& key) const {
  return config_.get_string(section_, key, declared(key).default_value);
}

double StageConfig::get_double(const std::string& key) const {
  const auto& k = declared(key);
  if (!config_.has(section_, key)) return std::stod(k.default_value);
  return config_.get_double(section_, key, 0);
}

long long StageConfig::get_int(const std::string& key) const {
  const auto& k = declared(key);
  if (!config_.has(section_, key)) return std::stoll(k.default_value);
  return config_.get_int(section_, key, 0);
}

bool StageConfig::get_bool(const std::string& key) const {
  const auto& k = declared(key);
  if (!config_.has(section_, key)) return k.default_value == "true";
  return config_.get_bool(section_, key, false);
}

std::vector<std::string> StageConfig::get_list(const std::string& key) const {
  const auto& k = declared(key);
  if (!config_.has(section_, key)) return split_list(k.default_value);
  return config_.get_list(section_, key);
}

const std::vector<Stage>& stages() { return registry(); }

const Stage* find_stage(const std::string& entry) {
  const size_t colon = entry.find(':');
  if (colon != std::string::npos && (colon == 0 || colon + 1 == entry.size())) return nullptr;   // ":x" and "x:" are typos
  const std::string name = entry.substr(0, colon);
  for (const auto& s : registry())
    if (s.name == name) return &s;
  return nullptr;
}

void register_stage(Stage stage) {
  if (stage.name.find(':') != std::string::npos) throw Error("internal: stage name '" + stage.name + "' may not contain ':'");
  if (find_stage(stage.name)) return;
  registry().push_back(std::move(stage));
}

void check_stage_keys(const Config& config, const std::vector<std::string>& free_sections) {
  for (const auto& section : config.sections()) {
    bool is_free = false;
    for (const auto& f : free_sections) is_free = is_free || f == section;
    if (is_free) continue;
    const Stage* stage = find_stage(section);
    if (!stage) {
      std::string known;
      for (const auto& s : stages()) known += (known.empty() ? "" : ", ") + s.name;
      for (const auto& f : free_sections) known += (known.empty() ? "" : ", ") + f;
      throw Error(config.origin() + ": [" + section + "]: unknown section (known: " + known + ")");
    }
    for (const auto& kv : config.section(section)) {
      bool ok = false;
      std::string known;
      for (const auto& k : stage->keys) {
        ok = ok || k.name == kv.first;
        known += (known.empty() ? "" : ", ") + k.name;
      }
      if (!ok) throw Error(config.where(section, kv.first) + ": unknown key (stage '" + section + "' takes: " + known + ")");
    }
  }
}

}  // namespace velofield
