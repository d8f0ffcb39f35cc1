#pragma once
// Velocity methods by name: the `dynamics` stage runs the one its `method` key names
// (`--method stochastic | deterministic | ...`). A method declares its own keys, which join the
// [dynamics] section; adding a method is adding its file and one line in
// register_builtin_velocity_methods() (velocity_method_list.cpp).
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "pipeline/stage.hpp"

namespace velofield {

struct VelocityMethod {
  std::string name;
  std::string summary;
  std::vector<StageKey> keys;   // keys of [dynamics] the method reads (shared keys: same declaration)
  // Reads the dataset's slots and writes layers/velocity_S, var.use_for_dynamics,
  // var.use_for_transition and uns['dynamics'] (see dynamics_record.hpp).
  std::function<void(Dataset&, const StageConfig&)> run;
};

// Registered methods, in registration order.
const std::vector<VelocityMethod>& velocity_methods();
const VelocityMethod* find_velocity_method(const std::string& name);
void register_velocity_method(VelocityMethod method);   // a name registered twice keeps the first
void register_builtin_velocity_methods();

}  // namespace velofield
