#include "cli/command.hpp"

namespace velofield::cli {

// Defined in cmd_simulate.cpp and cmd_evaluate.cpp.
Command simulate_command();
Command evaluate_command();

// Commands that are not pipeline stages and are not info/convert/run.
std::vector<Command> extra_commands() { return {simulate_command(), evaluate_command()}; }

}  // namespace velofield::cli
