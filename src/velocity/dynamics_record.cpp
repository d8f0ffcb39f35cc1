#include "velocity/dynamics_record.hpp"

namespace velofield {

namespace {
UnsNode flag(bool value) {
  DenseArray a;
  a.values = Array(DType::boolean, 1);
  a.values.data<uint8_t>()[0] = value ? 1 : 0;
  return UnsNode::numeric(std::move(a));
}
}  // namespace

UnsNode dynamics_record(const DynamicsRecord& r) {
  UnsNode u = UnsNode::dict();
  u["filter_gene_mode"] = UnsNode::string("final");
  u["asspt_mRNA"] = UnsNode::string("ss");
  u["experiment_type"] = UnsNode::string(r.experiment_type);
  u["normalized"] = flag(true);
  u["model"] = UnsNode::string(r.model);
  u["est_method"] = UnsNode::string(r.est_method);
  u["has_splicing"] = flag(true);
  u["has_labeling"] = flag(r.has_labeling);
  u["splicing_labeling"] = flag(r.splicing_labeling);
  u["has_protein"] = flag(false);
  u["use_smoothed"] = flag(true);
  u["NTR_vel"] = flag(false);
  u["log_unnormalized"] = flag(true);
  u["fraction_for_deg"] = flag(false);
  return u;
}

DynamicsRecord record_for(const Dataset& d) {
  DynamicsRecord r;
  bool labeling = d.layers.count("new") && d.layers.count("total");
  if (d.uns.contains("pp/has_labeling")) {
    const UnsNode& n = d.uns.at("pp/has_labeling");
    if (n.kind == UnsNode::Kind::numeric && n.array.values.size() == 1) labeling = n.array.values.as_double(0) != 0;
  }
  if (labeling) {
    r.experiment_type = "kin";
    r.has_labeling = true;
    r.splicing_labeling = d.layers.count("spliced") && d.layers.count("unspliced");
  }
  return r;
}

}  // namespace velofield
