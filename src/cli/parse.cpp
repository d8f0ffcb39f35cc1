#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/command.hpp"
#include "core/error.hpp"

namespace velofield::cli {

po::options_description common_options(CommonOptions& common) {
  po::options_description d("Common options");
  d.add_options()
      ("help,h", po::bool_switch(&common.help), "show this help and exit")
      ("verbose,v", po::bool_switch(&common.runtime.verbose), "log from every rank")
      ("quiet,q", po::bool_switch(&common.runtime.quiet), "log errors only")
      ("timings", po::value<std::string>(&common.runtime.timings_path)->value_name("FILE.json"),
       "write per-stage wall time and peak memory per rank to FILE.json");
  return d;
}

bool parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description& positional, const std::string& usage,
           const std::string& command, CommonOptions& common, Runtime& runtime, Parsed& out,
           bool collect_extra) {
  po::options_description all;
  all.add(options).add(common_options(common));
  // --section.key value (or --section.key=value) overrides are taken out before Boost sees them.
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool dotted = a.rfind("--", 0) == 0 && a.find('.') != std::string::npos &&
                        a.find('.') < a.find('=');
    if (!dotted) {
      rest.push_back(a);
      continue;
    }
    if (!collect_extra)
      throw Error("velofield " + command + ": unknown option '" + a + "' (see velofield " + command + " --help)");
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      out.extra.emplace_back(a.substr(2, eq - 2), a.substr(eq + 1));
    } else {
      if (i + 1 >= args.size()) throw Error("velofield " + command + ": " + a + " needs a value");
      out.extra.emplace_back(a.substr(2), args[++i]);
    }
  }
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::command_line_parser(rest)
                 .options(all)
                 .positional(positional)
                 .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
                 .allow_unregistered()
                 .run();
    po::store(parsed, out.vm);
  } catch (const po::error& e) {
    throw Error("velofield " + command + ": " + e.what() + " (see velofield " + command + " --help)");
  }
  // Unregistered options: --section.key value overrides, or mistakes.
  for (const auto& opt : parsed.options) {
    if (!opt.unregistered) continue;
    const std::string& key = opt.string_key;
    throw Error("velofield " + command + ": unknown option '" + (opt.original_tokens.empty() ? key : opt.original_tokens[0]) +
                "' (see velofield " + command + " --help)");
  }
  if (out.vm.count("help") && out.vm["help"].as<bool>()) {
    if (runtime.rank() == 0) {
      std::ostringstream s;
      s << usage << "\n\n" << all << "\n";
      std::fputs(s.str().c_str(), stdout);
    }
    return false;
  }
  try {
    po::notify(out.vm);
  } catch (const po::error& e) {
    throw Error("velofield " + command + ": " + e.what() + " (see velofield " + command + " --help)");
  }
  runtime.configure(common.runtime);
  return true;
}

}  // namespace velofield::cli
