#include "velocity/dynamics_stage.hpp"

#include "core/error.hpp"
#include "velocity/velocity_method.hpp"

namespace velofield {

namespace {
std::string method_names() {
  std::string out;
  for (const auto& m : velocity_methods()) out += (out.empty() ? "" : " | ") + m.name;
  return out;
}
}  // namespace

Stage dynamics_stage() {
  register_builtin_velocity_methods();
  Stage s;
  s.name = "dynamics";
  s.summary =
      "RNA velocity from the moments (dynamo's tl.dynamics): fits each gene's kinetics and writes layers/velocity_S, "
      "var gamma, gamma_r2, beta, use_for_dynamics, use_for_transition, varm/vel_params and uns/dynamics";
  std::string help = "velocity method: " + method_names() + " (";
  for (const auto& m : velocity_methods()) help += m.name + ": " + m.summary + "; ";
  help.replace(help.size() - 2, 2, ")");
  s.keys.push_back({"method", "stochastic", help});
  // A key shared by several methods is declared once (its first declaration) for --help and key
  // checking; each method still gets its own default (see run below).
  for (const auto& m : velocity_methods())
    for (const auto& k : m.keys) {
      bool seen = false;
      for (const auto& have : s.keys) seen = seen || have.name == k.name;
      if (!seen) s.keys.push_back(k);
    }
  s.run = [](Dataset& d, const StageConfig& sc) {
    const std::string name = sc.get_string("method");
    const VelocityMethod* method = find_velocity_method(name);
    if (!method)
      throw Error(sc.config().where(sc.section(), "method") + ": unknown velocity method '" + name + "' (known: " + method_names() + ")");
    // A key given for another method would be silently ignored: say so instead.
    for (const auto& kv : sc.config().section(sc.section())) {
      if (kv.first == "method") continue;
      bool used = false;
      for (const auto& k : method->keys) used = used || k.name == kv.first;
      if (!used)
        throw Error(sc.config().where(sc.section(), kv.first) + ": not a key of method '" + name + "' (it takes: " + [&] {
          std::string keys;
          for (const auto& k : method->keys) keys += (keys.empty() ? "" : ", ") + k.name;
          return keys.empty() ? std::string("none") : keys;
        }() + ")");
    }
    // The method reads its keys with its own defaults: a key that several methods share (seed,
    // epochs) is declared on the stage once, with the first method's default, which must not
    // become another method's default (LatentVelo once trained at cellDancer's learning rate).
    method->run(d, StageConfig(sc.config(), sc.section(), method->keys));
  };
  return s;
}

}  // namespace velofield
