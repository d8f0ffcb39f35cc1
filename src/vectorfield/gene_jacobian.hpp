#pragma once
// Gene-space Jacobians of a PCA-space field (dynamo's jacobian_gene): how the velocity of effector
// gene e responds to the expression of regulator gene r at a cell, q_e · J(x) · q_r, with q_g the
// gene's row of the PCA loadings (uns PCs, rows = the use_for_pca genes in var order). Each entry
// needs one Jacobian-vector product J q_r, O(M · dim) per cell: the d × d Jacobians are never formed.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "rkhs_field.hpp"

namespace velofield {

struct GeneLoadings {
  std::vector<std::string> genes;
  std::vector<double> rows;   // genes × dim: each gene's row of PCs
  int64_t dim = 0;
};

// The PCs rows of `genes` (uns PCs, else varm PCs). Errors name the option `key` and the gene.
GeneLoadings pca_loadings(const Dataset& d, const std::vector<std::string>& genes, int64_t dim, const std::string& key);

// For `rows` points x (rows × dim): out[(i · E + e) · R + r] = q_e · J(x_i) · q_r.
std::vector<double> gene_jacobians(const kernels::RkhsField& field, int64_t rows, const double* x,
                                   const GeneLoadings& regulators, const GeneLoadings& effectors);

}  // namespace velofield
