#pragma once
#include <cstdint>

namespace velofield {
// Peak resident set size of this process so far, in bytes (VmHWM).
int64_t peak_rss_bytes();
// Current resident set size in bytes (VmRSS).
int64_t current_rss_bytes();
}  // namespace velofield
