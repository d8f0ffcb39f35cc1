#pragma once
// Pipeline configuration: an INI file ([section] key = value) with command-line overrides in the
// dotted form --section.key value. Values stay strings until a stage asks for a typed value; a
// value that does not parse is an error naming the file, section and key.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace velofield {

class Config {
 public:
  Config() = default;
  static Config from_file(const std::string& path);
  static Config from_string(const std::string& text, const std::string& origin = "<config>");

  // --section.key value; marks the key as coming from the command line.
  void set(const std::string& section, const std::string& key, const std::string& value);
  void set_dotted(const std::string& dotted_key, const std::string& value);

  bool has(const std::string& section, const std::string& key) const;
  std::optional<std::string> get(const std::string& section, const std::string& key) const;
  std::string get_string(const std::string& section, const std::string& key, const std::string& fallback) const;
  double get_double(const std::string& section, const std::string& key, double fallback) const;
  long long get_int(const std::string& section, const std::string& key, long long fallback) const;
  bool get_bool(const std::string& section, const std::string& key, bool fallback) const;
  // Comma- or space-separated list.
  std::vector<std::string> get_list(const std::string& section, const std::string& key) const;

  std::vector<std::string> sections() const;
  std::map<std::string, std::string> section(const std::string& name) const;
  const std::string& origin() const { return origin_; }
  // A path value: relative paths in the file are taken relative to the file's directory (so a
  // config works from any working directory); command-line values relative to the working one.
  std::string get_path(const std::string& section, const std::string& key, const std::string& fallback) const;
  // Where a key came from, for messages: "run.ini [moments] n_neighbors" or "--moments.n_neighbors".
  std::string where(const std::string& section, const std::string& key) const;

 private:
  std::string origin_ = "<config>";
  std::map<std::string, std::map<std::string, std::string>> values_;
  std::map<std::string, std::string> overridden_;   // "section.key" -> "command line"
};

std::string trim(const std::string& s);
std::vector<std::string> split_list(const std::string& s);

}  // namespace velofield
