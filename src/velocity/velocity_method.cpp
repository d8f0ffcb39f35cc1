#include "velocity/velocity_method.hpp"

namespace velofield {

namespace {
std::vector<VelocityMethod>& registry() {
  static std::vector<VelocityMethod> r;
  return r;
}
}  // namespace

const std::vector<VelocityMethod>& velocity_methods() { return registry(); }

const VelocityMethod* find_velocity_method(const std::string& name) {
  for (const auto& m : registry())
    if (m.name == name) return &m;
  return nullptr;
}

void register_velocity_method(VelocityMethod method) {
  if (find_velocity_method(method.name)) return;
  registry().push_back(std::move(method));
}

}  // namespace velofield
