#pragma once
// LatentVelo's per-gene preprocessing (spec §4.1), in plain C++: scVelo's filter_genes_dispersion
// (flavor 'seurat') for the top HVGs, and the UniTVelo-style velocity-gene filter on whole gene
// columns of the moments, with the 4·(1 + sd) scaling of the model's inputs.
#include <cstdint>
#include <vector>

namespace velofield::models {

// scVelo filter_genes_dispersion(flavor='seurat', n_top_genes): per-gene mean and mean of squares of
// the normalised counts over n_cells; log dispersion (var/mean, ddof 1) normalised within 20
// equal-width bins of log1p(mean); the genes at or above the n_top-th largest normalised dispersion.
// With no more than n_top genes every gene is kept (scVelo skips the filter). 1 = keep.
std::vector<uint8_t> dispersion_top_genes(const std::vector<double>& mean, const std::vector<double>& mean_sq,
                                          int64_t n_cells, int64_t n_top);

struct LatentveloGene {
  double gamma_quantile = 0, gamma_ref = 0, r2 = 0, scaling = 0;   // scaling = sd(u) / sd(s)
  bool expressed = false;        // any s > 0 and any u > 0
  int64_t both_positive = 0;     // cells with u > 0 and s > 0
  double sd_s = 0, sd_u = 0;     // population sd of Ms and Mu
};

// One gene's statistics from its whole columns of Ms and Mu (n cells).
LatentveloGene latentvelo_gene(const float* ms, const float* mu, int64_t n);

// The velocity genes: 0.01 < r² < 0.95, γ_q > 0.01, γ_ref > 0.01, expressed, scaling within
// (min(p10, 0.03), max(p90, 3)) of all genes' scalings, and more cells with u, s > 0 than 0.05·G
// (LatentVelo compares with the gene count G, not the cell count: reproduced).
std::vector<uint8_t> latentvelo_velocity_genes(const std::vector<LatentveloGene>& genes);

}  // namespace velofield::models
