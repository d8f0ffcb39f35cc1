#include "velocity/models/model_methods.hpp"
#include "velocity/steady_state_methods.hpp"
#include "velocity/velocity_method.hpp"

namespace velofield {

// The velocity methods `dynamics --method NAME` knows, one line each.
void register_builtin_velocity_methods() {
  register_velocity_method(stochastic_velocity_method());
  register_velocity_method(deterministic_velocity_method());
  register_velocity_method(celldancer_velocity_method());
  register_velocity_method(velovi_velocity_method());
  register_velocity_method(latentvelo_velocity_method());
  register_velocity_method(deepvelo_velocity_method());
}

}  // namespace velofield
