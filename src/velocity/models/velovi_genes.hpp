#pragma once
// VeloVI's preprocessing per gene (spec §3.1), in plain C++ on one gene's whole column of cells:
// scikit-learn's min-max scaling of M_s and M_u, scVelo's steady-state ("deterministic") fit on the
// scaled values that decides which genes VeloVI trains on, and the top-1 % unspliced statistics
// u_up/s_up that initialise α and anchor the end penalty. The method moves whole gene columns to
// one rank (gene_transpose.hpp) so these are exact over all cells at any rank count.
#include <cstdint>
#include <vector>

namespace velofield::models {

struct VeloviGeneStats {
  // MinMaxScaler: scaled = x · scale + offset (scale = 1 / (max − min), 1 for a constant column).
  double s_scale = 1, s_offset = 0, u_scale = 1, u_offset = 0;
  double gamma = 0, r2 = 0;        // scVelo's extreme-quantile γ (no intercept) and r² over all cells
  bool expressed = false;          // any scaled s > 0 and any scaled u > 0
  double u_up = 0, s_up = 0;       // medians over the cells from ⌊0.99·N⌋ upward in the scaled u order
};

// One gene from its raw moments over all n cells (in global cell order).
VeloviGeneStats velovi_gene_stats(const float* s, const float* u, int64_t n);

// The genes VeloVI keeps (1 = keep): scVelo's velocity_genes (r² > 0.01, γ > 0.01, expressed, and
// highly_variable when given; if fewer than 2 pass, r² above its 80th percentile over all genes),
// then r² > 0 and γ > 0.
std::vector<uint8_t> velovi_gene_selection(const std::vector<VeloviGeneStats>& stats,
                                           const std::vector<uint8_t>* highly_variable);

// numpy.percentile(values, q) with the default 'linear' method (values need not be sorted).
double numpy_percentile(std::vector<double> values, double q);

}  // namespace velofield::models
