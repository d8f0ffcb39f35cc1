#include "transition/transition_methods.hpp"

#include "core/error.hpp"

namespace velofield {

namespace {
const std::vector<std::pair<std::string, kernels::SimilarityTransform>>& transforms() {
  static const std::vector<std::pair<std::string, kernels::SimilarityTransform>> t = {
      {"sqrt", kernels::SimilarityTransform::sqrt},
      {"log", kernels::SimilarityTransform::log},
      {"logratio", kernels::SimilarityTransform::logratio},
      {"linear", kernels::SimilarityTransform::linear}};
  return t;
}
}  // namespace

const std::vector<TransitionMethod>& transition_methods() {
  // 'correlation' is a name dynamo's cell_velocities lists but never computes (it crashes on an
  // undefined variable); its intent is the correlation kernel, which is 'pearson'.
  static const std::vector<TransitionMethod> m = {
      {"pearson", kernels::SimilarityMeasure::pearson, "Pearson correlation of velocity and displacement (dynamo's default)"},
      {"cosine", kernels::SimilarityMeasure::cosine, "cosine of velocity and displacement"},
      {"correlation", kernels::SimilarityMeasure::pearson, "the Pearson correlation kernel under dynamo's other name"}};
  return m;
}

std::string transition_method_names() {
  std::string s;
  for (const auto& m : transition_methods()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

std::string similarity_transform_names() {
  std::string s;
  for (const auto& t : transforms()) s += (s.empty() ? "" : ", ") + t.first;
  return s;
}

const TransitionMethod& transition_method(const std::string& name, const std::string& source, const std::string& option) {
  for (const auto& m : transition_methods())
    if (m.name == name) return m;
  fail(source, option, "unknown method '" + name + "' (known: " + transition_method_names() + ")");
}

kernels::SimilarityTransform similarity_transform(const std::string& name, const std::string& source, const std::string& option) {
  for (const auto& t : transforms())
    if (t.first == name) return t.second;
  fail(source, option, "unknown transform '" + name + "' (known: " + similarity_transform_names() + ")");
}

}  // namespace velofield
