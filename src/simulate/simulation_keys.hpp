#pragma once
// The simulator's options, declared once: `velofield simulate --KEY V` and the [simulate] section of
// a pipeline config use the same keys, defaults and help text.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "simulate/simulator.hpp"

namespace velofield {

struct SimulationKey {
  std::string name;
  std::string default_value;
  std::string help;
  bool is_switch = false;   // a flag on the command line (--noise-free), true/false in a config
};

const std::vector<SimulationKey>& simulation_keys();

// Options from key → value strings (absent keys keep their defaults). Unknown keys and values that
// do not parse or are out of range throw velofield::Error "SOURCE: KEY: PROBLEM".
SimulationOptions simulation_options_from(const std::map<std::string, std::string>& values, const std::string& source);

}  // namespace velofield
