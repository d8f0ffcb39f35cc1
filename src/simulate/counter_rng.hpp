#pragma once
// Counter-based random numbers for the simulator. Every random quantity is a pure function of
// (seed, what it is for, which cell, which gene, ...): a key is hashed from those, and a stream
// draws hash(key, 0), hash(key, 1), ... So a rank can generate exactly its own cells, in any order,
// and the result does not depend on how many ranks there are (a std::mt19937 sequence would).
#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace velofield::sim {

// SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer with full
// avalanche, the usual way to turn a counter into a well-distributed word.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A key from a list of words (seed, purpose tag, indices). Chained mixing keeps (a, b) and (b, a)
// apart.
inline uint64_t hash_key(std::initializer_list<uint64_t> words) {
  uint64_t h = 0x6a09e667f3bcc909ULL;
  for (uint64_t w : words) h = mix64(h ^ mix64(w));
  return h;
}

// What a stream is for; part of every key so two purposes never share numbers.
enum class Purpose : uint64_t {
  gene_rates = 1,
  gene_program = 2,
  cell_position = 3,
  cell_library = 4,
  cell_layout = 5,
  count_spliced = 6,
  count_unspliced = 7,
};

class CounterRng {
 public:
  explicit CounterRng(uint64_t key) : key_(key) {}
  uint64_t next() { return mix64(key_ ^ mix64(counter_++)); }
  // Uniform on (0, 1): never 0 or 1, so log() and 1/x are safe.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal();                      // standard normal (Box–Muller, one of the pair)
  double gamma(double shape);           // Gamma(shape, scale 1), Marsaglia–Tsang
  int64_t poisson(double mean);         // exact: inversion below 10, PTRS (Hörmann 1993) above
  // Negative binomial as a gamma–Poisson mixture: mean m, variance m + m²/theta.
  int64_t negative_binomial(double mean, double theta);

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

}  // namespace velofield::sim
