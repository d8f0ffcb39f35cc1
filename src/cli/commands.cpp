#include "cli/command.hpp"
#include "pipeline/stage.hpp"

namespace velofield::cli {

std::vector<Command> all_commands() {
  register_builtin_stages();
  std::vector<Command> out{info_command(), convert_command(), run_command()};
  for (const auto& s : stages())
    if (s.command) out.push_back(stage_command(s.name));
  for (auto& c : extra_commands()) out.push_back(std::move(c));
  return out;
}

}  // namespace velofield::cli
