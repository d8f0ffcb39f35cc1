#include "topography/latin_hypercube.hpp"

#include <numeric>
#include <utility>

#include "simulate/counter_rng.hpp"

namespace velofield {

std::vector<double> latin_hypercube(int64_t n, const std::vector<double>& lo, const std::vector<double>& hi, uint64_t seed) {
  const int64_t dim = static_cast<int64_t>(lo.size());
  std::vector<double> out(static_cast<size_t>(n * dim));
  std::vector<int64_t> strata(static_cast<size_t>(n));
  for (int64_t q = 0; q < dim; ++q) {
    sim::CounterRng rng(sim::hash_key({seed, 0x1a7e1c, static_cast<uint64_t>(q)}));
    std::iota(strata.begin(), strata.end(), 0);
    for (int64_t k = n - 1; k > 0; --k)   // Fisher–Yates
      std::swap(strata[static_cast<size_t>(k)], strata[static_cast<size_t>(rng.next() % static_cast<uint64_t>(k + 1))]);
    for (int64_t i = 0; i < n; ++i) {
      const double u = (static_cast<double>(strata[static_cast<size_t>(i)]) + rng.uniform()) / static_cast<double>(n);
      out[static_cast<size_t>(i * dim + q)] = lo[static_cast<size_t>(q)] + u * (hi[static_cast<size_t>(q)] - lo[static_cast<size_t>(q)]);
    }
  }
  return out;
}

}  // namespace velofield
