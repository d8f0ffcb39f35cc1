#pragma once
// The transition kernels and transforms of cell_velocities, by name (dynamo's names). Adding a
// kernel is one entry here plus its measure in the similarity kernel.
#include <string>
#include <vector>

#include "transition_similarity.hpp"

namespace velofield {

struct TransitionMethod {
  std::string name;                       // pearson, cosine, correlation
  kernels::SimilarityMeasure measure;
  std::string description;
};

const std::vector<TransitionMethod>& transition_methods();
// Throws velofield::Error "SOURCE: OPTION: unknown method ..." listing the known ones.
const TransitionMethod& transition_method(const std::string& name, const std::string& source, const std::string& option);
kernels::SimilarityTransform similarity_transform(const std::string& name, const std::string& source, const std::string& option);
// "pearson, cosine, correlation" / "sqrt, log, logratio, linear", for --help.
std::string transition_method_names();
std::string similarity_transform_names();

}  // namespace velofield
