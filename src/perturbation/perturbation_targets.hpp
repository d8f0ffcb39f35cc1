#pragma once
// The genes a perturbation sets and what it sets them to, in PCA terms (dyn.pd.perturbation,
// spec section 7 steps 1–4). The PCA reconstruction of cell i's log expression of gene g is
// x̂_ig = X_pca_i · q_g + mean_g (q_g: the gene's row of uns PCs), so the perturbation of the
// PCA coordinates is a sum over the genes along their loading rows:
//   raw     δx_i = Σ_g (v_g − x̂_ig) q_g   (v_g an absolute target of the log expression; dynamo's default)
//   delta   δx_i = Σ_g v_g q_g            (v_g a change of the log expression)
//   z_score δx_i = Σ_g (mean_g + v_g sd_g − x̂_ig) q_g with mean/sd of x̂_·g over all cells (ddof 0)
// dynamo drops genes outside use_for_pca silently and pairs the values with the genes in var
// order; here such a gene is an error and values pair with the genes in the order given.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

enum class PerturbMode { raw, delta, z_score };

struct PerturbationTargets {
  std::vector<std::string> genes;
  std::vector<double> values;
  std::vector<int64_t> var_index;   // position in var
  std::vector<int64_t> pcs_row;     // row of uns PCs
  std::vector<double> loadings;     // genes × dim (their rows of PCs)
  std::vector<double> mean;         // uns pca_mean of each gene
  int64_t dim = 0;
};

// Throws velofield::Error naming `option` (genes not in var, not used for the PCA, value count)
// or the file and slot (uns PCs / pca_mean / var use_for_pca malformed).
PerturbationTargets perturbation_targets(const Dataset& d, const std::vector<std::string>& genes, const std::vector<double>& values,
                                         int64_t dim, const std::string& option);

// δx for this rank's cells (rows × dim). z_score reads the means and deviations of x̂ over all
// cells (collective: one all-reduce); the other modes are local.
std::vector<double> perturbation_delta_x(MPI_Comm comm, const PerturbationTargets& t, PerturbMode mode, int64_t rows,
                                         const double* x_pca, int64_t total_cells);

}  // namespace velofield
