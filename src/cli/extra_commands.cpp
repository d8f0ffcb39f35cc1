#include "cli/command.hpp"

namespace velofield::cli {

// Each defined in its own cmd_*.cpp.
Command simulate_command();
Command evaluate_command();
Command diff_command();
Command scaling_report_command();
Command sweep_summary_command();
Command streamline_plot_command();   // cmd_plots.cpp
Command topography_plot_command();
Command scatter_plot_command();

// Commands that are not pipeline stages and are not info/convert/run.
std::vector<Command> extra_commands() {
  return {simulate_command(), evaluate_command(), diff_command(), scaling_report_command(), sweep_summary_command(),
          streamline_plot_command(), topography_plot_command(), scatter_plot_command()};
}

}  // namespace velofield::cli
