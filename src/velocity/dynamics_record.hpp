#pragma once
// What every velocity method leaves behind for the stages after it (dynamo's contract, spec 3.5 and
// the extvelo section): the gene flags var.use_for_dynamics / var.use_for_transition and the
// uns['dynamics'] record that dynamo's cell_velocities, VectorField and perturbation read.
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct DynamicsRecord {
  std::string model = "stochastic";       // stochastic | deterministic
  std::string est_method = "gmm";         // gmm | ols | auto (imported)
  std::string experiment_type = "conventional";
  bool has_labeling = false;
  bool splicing_labeling = false;
};

// uns['dynamics']: filter_gene_mode 'final', asspt_mRNA 'ss', experiment_type, normalized true,
// model, est_method, has_splicing true, has_labeling, splicing_labeling, has_protein false,
// use_smoothed true, NTR_vel false, log_unnormalized true, fraction_for_deg false. dynamo's None
// entries (t, group, X_data, X_fit_data) are not stored: anndata up to 0.11 drops None on write and
// 0.11 cannot read 0.12's 'null' encoding, so leaving them out is what dynamo's own files hold.
UnsNode dynamics_record(const DynamicsRecord& record);

// Labelling data (dynamo's 'new'/'total' layers, or uns/pp/has_labeling): experiment type 'kin'.
DynamicsRecord record_for(const Dataset& dataset);

}  // namespace velofield
