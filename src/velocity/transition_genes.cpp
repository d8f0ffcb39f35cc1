#include "velocity/transition_genes.hpp"

#include <algorithm>
#include <cmath>

namespace velofield {

std::vector<uint8_t> transition_genes(const std::vector<double>& gamma, const std::vector<double>& r2,
                                      const std::vector<uint8_t>& dyn, double min_gamma, double min_r2, std::string* note) {
  const size_t G = gamma.size();
  std::vector<uint8_t> out(G, 0);
  size_t passing = 0;
  for (size_t g = 0; g < G; ++g) {
    out[g] = dyn[g] && gamma[g] > min_gamma && r2[g] > min_r2;
    passing += out[g];
  }
  if (passing >= 5 || G <= 5) return out;
  std::vector<size_t> fitted;
  for (size_t g = 0; g < G; ++g)
    if (dyn[g] && !std::isnan(gamma[g]) && !std::isnan(r2[g])) fitted.push_back(g);
  // Largest |gamma_r2| first; ties by gene order, so the choice is reproducible.
  std::stable_sort(fitted.begin(), fitted.end(), [&](size_t a, size_t b) { return std::fabs(r2[a]) > std::fabs(r2[b]); });
  const size_t take = std::min<size_t>(50, fitted.size());
  std::fill(out.begin(), out.end(), 0);
  for (size_t k = 0; k < take; ++k) out[fitted[k]] = 1;
  if (note)
    *note = std::to_string(passing) + " gene(s) passed gamma > " + std::to_string(min_gamma) + " and gamma_r2 > " +
            std::to_string(min_r2) + "; using the " + std::to_string(take) + " fitted genes of largest |gamma_r2| instead";
  return out;
}

}  // namespace velofield
