#pragma once
// Subcommands of the velofield binary. Each parses its own options with Boost.Program_options and
// answers --help; all share --verbose, --quiet and --timings.
#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "pipeline/stage.hpp"

namespace velofield::cli {

namespace po = boost::program_options;

struct Command {
  std::string name;
  std::string summary;
  std::function<int(Runtime&, const std::vector<std::string>&)> run;
};

// All subcommands: the built-in ones and one per registered stage.
std::vector<Command> all_commands();

// The options every subcommand takes.
struct CommonOptions {
  bool help = false;
  RuntimeOptions runtime;
};
po::options_description common_options(CommonOptions& common);

// Parses args against `options` (+ positionals). Unregistered --section.key value pairs are
// returned in `extra` when `collect_extra` is set, otherwise they are an error. Returns false when
// --help was asked for (after printing usage on rank 0).
struct Parsed {
  po::variables_map vm;
  std::vector<std::pair<std::string, std::string>> extra;
};
bool parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description& positional, const std::string& usage,
           const std::string& command, CommonOptions& common, Runtime& runtime, Parsed& out,
           bool collect_extra = false);

// `velofield NAME IN OUT [--key value ...]` for a command whose options are `keys` (its INI section
// is NAME): fills `in` and `out` and puts the keys given on the command line into `config`. Returns
// false when --help was asked for (after printing `usage` on rank 0). Used by the stage and plot commands.
bool parse_in_out_keys(Runtime& rt, const std::vector<std::string>& args, const std::string& name,
                       const std::vector<StageKey>& keys, const std::string& out_help, const std::string& usage,
                       std::string& in, std::string& out, Config& config);

// Subcommand factories (one file each).
Command info_command();
Command convert_command();
Command run_command();
Command stage_command(const std::string& stage_name);
std::vector<Command> extra_commands();   // simulate, evaluate, ... (commands.cpp)

}  // namespace velofield::cli
