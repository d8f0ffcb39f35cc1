#pragma once
// Stages by name. A stage is a function of the Dataset and its INI section; it declares its keys
// (with defaults and help), so that `velofield <stage> --help`, `velofield run --config` and the
// check for misspelt keys all come from one declaration.
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "data/dataset.hpp"

namespace velofield {

struct StageKey {
  std::string name;            // dynamo's parameter name where there is one (n_neighbors, M, basis)
  std::string default_value;
  std::string help;
};

// A stage's view of the config: its own section, with declared defaults filled in.
class StageConfig {
 public:
  StageConfig(const Config& config, std::string section, const std::vector<StageKey>& keys)
      : config_(config), section_(std::move(section)), keys_(keys) {}
  std::string get_string(const std::string& key) const;
  double get_double(const std::string& key) const;
  long long get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_list(const std::string& key) const;
  const Config& config() const { return config_; }
  const std::string& section() const { return section_; }

 private:
  const StageKey& declared(const std::string& key) const;
  const Config& config_;
  std::string section_;
  const std::vector<StageKey>& keys_;
};

struct Stage {
  std::string name;
  std::string summary;
  std::vector<StageKey> keys;
  std::function<void(Dataset&, const StageConfig&)> run;
  bool command = true;   // also `velofield NAME IN OUT` (false: a pipeline entry only)
};

// Registered stages, in registration order. Registration happens in register_builtin_stages()
// (stage_list.cpp): adding a stage is adding its file and one line there.
const std::vector<Stage>& stages();
// A stage by name. A pipeline entry may carry a label, NAME:LABEL, to run one stage twice with
// different settings (dynamo's tutorial fits the vector field in pca and then in umap space):
// the entry `vectorfield:umap` runs stage `vectorfield` with the keys of section [vectorfield:umap].
const Stage* find_stage(const std::string& entry);
void register_stage(Stage stage);
void register_builtin_stages();

// Throws if a section of the config that names a stage holds a key the stage does not declare
// (a misspelt option would otherwise be silently ignored).
void check_stage_keys(const Config& config, const std::vector<std::string>& sections_that_are_free);

}  // namespace velofield
