#pragma once
// The `preprocess` stage: dynamo's `Preprocessor(cell_cycle_score_enable=True)
// .preprocess_adata(adata, recipe='monocle')` on cells partitioned across ranks
// (../shared/reference/dynamo-pipeline.md section 1; docs/preprocess.md).
#include <string>

#include "data/dataset.hpp"
#include "pipeline/stage.hpp"

namespace velofield {

struct PreprocessOptions {
  int64_t n_top_genes = 2000;
  int n_pca_components = 30;
  bool cell_cycle_score_enable = true;
  double cell_cycle_threshold = 0.3;
  // Filters; a negative value means dynamo's data-dependent default (see docs/preprocess.md).
  double min_expr_genes_s = -1;   // min(50, 0.01 G): genes expressed per cell, X and spliced
  double min_expr_genes_u = -1;   // min(25, 0.01 G): unspliced
  double min_cell_s = -1;         // max(5, 0.01 N): cells expressing a gene, X and spliced
  double min_cell_u = -1;         // max(5, 0.005 N): unspliced
  double shared_count = 30;       // min Σ (s + u) over cells where both are > 0
  double svr_gamma = -1;          // 150 / genes in the fit
  std::string pca_solver = "auto";   // auto | gram | krylov (src/preprocess/pca.hpp)
  bool allow_non_integer_counts = false;
};

// Collective. Throws velofield::Error (on every rank) for inputs the recipe cannot use.
void preprocess_monocle(Dataset& dataset, const PreprocessOptions& options);

// The stage's registration record: keys, defaults, help.
Stage preprocess_stage();

}  // namespace velofield
