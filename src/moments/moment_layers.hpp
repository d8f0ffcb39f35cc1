#pragma once
// First and second moments of the normalised spliced and unspliced layers over the moment matrix
// W (dynamo's tl.moments): M_u = W·X_u, M_s = W·X_s, M_uu = W·(X_u∘X_u), M_us = W·(X_u∘X_s),
// M_ss = W·(X_s∘X_s) (uncentred). A distributed sparse × dense product: the rows of X_u and X_s
// that W needs from other ranks (the halo) are fetched once per block of genes, and all five
// products come out of one pass of the moment_smoothing kernel.
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct MomentLayerOptions {
  std::string spliced = "X_spliced";
  std::string unspliced = "X_unspliced";
  std::vector<int64_t> genes;        // var indices to compute, ascending; all genes when it is all of them
  bool second_moments = true;
  DType dtype = DType::f64;          // storage of the M_* layers
  int64_t block_bytes = int64_t{256} << 20;   // bound on the gene block (local + halo rows, u and s)
  std::string option_prefix = "--";  // how the layer options are named in messages
};

// Collective. Writes layers M_u, M_s (and M_uu, M_us, M_ss). When `genes` is every gene the
// layers are dense cells × genes; otherwise they are CSR whose rows all store exactly the
// computed genes (zeros included), so the stored columns say which genes have moments.
void compute_moment_layers(Dataset& dataset, const DistMatrix& moment_matrix, const MomentLayerOptions& options);

// Collective. Throws (every rank) when a layer the moments need is absent or misshapen, before
// any expensive work.
void check_moment_inputs(const Dataset& dataset, const MomentLayerOptions& options);

// Global indices of var's use_for_pca genes; throws (every rank) when the column is absent.
std::vector<int64_t> selected_genes(const Dataset& dataset, const std::string& option_name);

}  // namespace velofield
