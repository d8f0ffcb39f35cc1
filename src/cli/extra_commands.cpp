#include <cstdio>
#include <sstream>

#include "cli/command.hpp"

namespace velofield::cli {

// Defined in cmd_simulate.cpp and cmd_evaluate.cpp.
Command simulate_command();
Command evaluate_command();

// Commands that are not pipeline stages and are not info/convert/run.
std::vector<Command> extra_commands() { return {simulate_command(), evaluate_command()}; }

// parse() reads CommonOptions::help before Boost has stored the switch into it (that happens in
// notify), so it can return true with help asked for. Prints the usage then; true means "done".
bool help_printed(const CommonOptions& common, const Runtime& rt, const std::string& usage, const po::options_description& opts) {
  if (!common.help) return false;
  if (rt.rank() == 0) {
    CommonOptions unused;
    po::options_description all;
    all.add(opts).add(common_options(unused));
    std::ostringstream s;
    s << usage << "\n\n" << all << "\n";
    std::fputs(s.str().c_str(), stdout);
  }
  return true;
}

}  // namespace velofield::cli
