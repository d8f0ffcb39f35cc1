// libFuzzer target: the pipeline configuration parser (INI text plus --section.key overrides) and
// every typed accessor a stage uses. Bad text must give velofield::Error naming the origin; any
// other exception, a crash or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"

namespace {
const std::string kOrigin = "/fuzz/dir/run.ini";

void exercise(const velofield::Config& c) {
  for (const auto& section : c.sections()) {
    for (const auto& [key, value] : c.section(section)) {
      (void)value;
      (void)c.where(section, key);
      (void)c.get_path(section, key, "fallback");
      (void)c.get_list(section, key);
      try { (void)c.get_double(section, key, 0.0); } catch (const velofield::Error&) {}
      try { (void)c.get_int(section, key, 0); } catch (const velofield::Error&) {}
      try { (void)c.get_bool(section, key, false); } catch (const velofield::Error&) {}
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first line, when it holds '=', is also used as a command-line override "dotted=value".
  const std::string first = text.substr(0, text.find('\n'));
  try {
    velofield::Config c = velofield::Config::from_string(text, kOrigin);
    exercise(c);
    const size_t eq = first.find('=');
    if (eq != std::string::npos) {
      try {
        c.set_dotted(first.substr(0, eq), first.substr(eq + 1));
        exercise(c);
      } catch (const velofield::Error&) {
      }
    }
  } catch (const velofield::Error& e) {
    // Every parse error names where it happened.
    const std::string m = e.what();
    if (m.rfind(kOrigin + ": ", 0) != 0) __builtin_trap();
  }
  return 0;
}
