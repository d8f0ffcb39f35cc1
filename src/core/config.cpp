#include "core/config.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace velofield {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!trim(item).empty()) out.push_back(trim(item));
      item.clear();
    } else {
      item += c;
    }
  }
  if (!trim(item).empty()) out.push_back(trim(item));
  return out;
}

Config Config::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, "", "cannot open the config file (does it exist and is it readable?)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return from_string(buffer.str(), path);
}

Config Config::from_string(const std::string& text, const std::string& origin) {
  Config c;
  c.origin_ = origin;
  std::istringstream in(text);
  std::string line, section;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      if (t.back() != ']') fail(origin, "line " + std::to_string(number), "a section header must look like [name]");
      section = trim(t.substr(1, t.size() - 2));
      if (section.empty()) fail(origin, "line " + std::to_string(number), "empty section name");
      c.values_[section];
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos) fail(origin, "line " + std::to_string(number), "expected 'key = value', found '" + t + "'");
    if (section.empty()) fail(origin, "line " + std::to_string(number), "a key before any [section]");
    std::string key = trim(t.substr(0, eq));
    std::string value = trim(t.substr(eq + 1));
    // Inline comments: " # ..." or " ; ..."
    for (const char* mark : {" #", " ;", "\t#", "\t;"}) {
      const size_t p = value.find(mark);
      if (p != std::string::npos) value = trim(value.substr(0, p));
    }
    if (key.empty()) fail(origin, "line " + std::to_string(number), "empty key");
    c.values_[section][key] = value;
  }
  return c;
}

void Config::set(const std::string& section, const std::string& key, const std::string& value) {
  values_[section][key] = value;
  overridden_[section + "." + key] = "command line";
}

void Config::set_dotted(const std::string& dotted_key, const std::string& value) {
  const size_t dot = dotted_key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == dotted_key.size())
    fail("command line", "--" + dotted_key, "overrides look like --section.key value");
  set(dotted_key.substr(0, dot), dotted_key.substr(dot + 1), value);
}

bool Config::has(const std::string& section, const std::string& key) const { return get(section, key).has_value(); }

std::optional<std::string> Config::get(const std::string& section, const std::string& key) const {
  auto s = values_.find(section);
  if (s == values_.end()) return std::nullopt;
  auto k = s->second.find(key);
  if (k == s->second.end()) return std::nullopt;
  return k->second;
}

std::string Config::where(const std::string& section, const std::string& key) const {
  if (overridden_.count(section + "." + key)) return "--" + section + "." + key;
  return origin_ + ": [" + section + "] " + key;
}

std::string Config::get_path(const std::string& section, const std::string& key, const std::string& fallback) const {
  const std::string value = get_string(section, key, fallback);
  if (value.empty() || value[0] == '/' || overridden_.count(section + "." + key)) return value;
  const size_t slash = origin_.find_last_of('/');
  if (origin_.empty() || origin_[0] == '<' || slash == std::string::npos) return value;
  return origin_.substr(0, slash + 1) + value;
}

std::string Config::get_string(const std::string& section, const std::string& key, const std::string& fallback) const {
  return get(section, key).value_or(fallback);
}

double Config::get_double(const std::string& section, const std::string& key, double fallback) const {
  auto v = get(section, key);
  if (!v || v->empty()) return fallback;
  errno = 0;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  if (errno != 0 || end == v->c_str() || *end != '\0')
    throw Error(where(section, key) + ": expected a number, found '" + *v + "'");
  return d;
}

long long Config::get_int(const std::string& section, const std::string& key, long long fallback) const {
  auto v = get(section, key);
  if (!v || v->empty()) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long i = std::strtoll(v->c_str(), &end, 10);
  if (errno != 0 || end == v->c_str() || *end != '\0') {
    // Accept integral floats written as 1e6. The range check comes first: casting a double outside
    // long long's range (1e30) is undefined behaviour.
    const double d = std::strtod(v->c_str(), &end);
    if (end != v->c_str() && *end == '\0' && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        d == static_cast<double>(static_cast<long long>(d)))
      return static_cast<long long>(d);
    throw Error(where(section, key) + ": expected an integer, found '" + *v + "'");
  }
  return i;
}

bool Config::get_bool(const std::string& section, const std::string& key, bool fallback) const {
  auto v = get(section, key);
  if (!v || v->empty()) return fallback;
  std::string s = *v;
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  throw Error(where(section, key) + ": expected true or false, found '" + *v + "'");
}

std::vector<std::string> Config::get_list(const std::string& section, const std::string& key) const {
  auto v = get(section, key);
  return v ? split_list(*v) : std::vector<std::string>{};
}

std::vector<std::string> Config::sections() const {
  std::vector<std::string> out;
  for (const auto& kv : values_) out.push_back(kv.first);
  return out;
}

std::map<std::string, std::string> Config::section(const std::string& name) const {
  auto s = values_.find(name);
  return s == values_.end() ? std::map<std::string, std::string>{} : s->second;
}

}  // namespace velofield
