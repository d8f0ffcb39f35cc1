#pragma once
// Counter-based random numbers keyed by (seed, stream, a, b): the value for a given key is the same
// whichever rank draws it and in whatever order, which is what makes shuffles, subsamples and
// per-cell noise independent of the number of ranks.
#include <cmath>
#include <cstdint>

namespace velofield::models {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One 64-bit hash of the whole key (chained so that (1, 2) and (2, 1) differ).
inline uint64_t key_hash(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b = 0) {
  return splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ a) ^ b);
}

// Uniform in [0, 1) with 53 random bits.
inline double key_uniform(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// A small sequential generator for loops that need many draws under one key.
class KeyedStream {
 public:
  explicit KeyedStream(uint64_t key) : state_(key) {}
  uint64_t next() { return splitmix64(state_++); }
  double uniform() { return key_uniform(next()); }
  double normal() {   // Box-Muller; 1 - u keeps the log finite
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// Streams, so that unrelated draws under the same seed never share keys.
enum class Stream : uint64_t { split = 1, shuffle = 2, noise = 3, init = 4, subsample = 5, jitter = 6 };

}  // namespace velofield::models
