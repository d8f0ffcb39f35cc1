#include "core/memory.hpp"

#include <cstdio>
#include <cstring>

namespace velofield {
namespace {
int64_t read_status_kb(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int64_t kb = -1;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, n) == 0) {
      long long v = 0;
      if (std::sscanf(line + n, ": %lld", &v) == 1) kb = v;
      break;
    }
  }
  std::fclose(f);
  return kb;
}
}  // namespace

int64_t peak_rss_bytes() { return read_status_kb("VmHWM") * 1024; }
int64_t current_rss_bytes() { return read_status_kb("VmRSS") * 1024; }
}  // namespace velofield
