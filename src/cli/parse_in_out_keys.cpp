#include "cli/command.hpp"

namespace velofield::cli {

bool parse_in_out_keys(Runtime& rt, const std::vector<std::string>& args, const std::string& name,
                       const std::vector<StageKey>& keys, const std::string& out_help, const std::string& usage,
                       std::string& in, std::string& out, Config& config) {
  po::options_description opts(name + " options (INI section [" + name + "])");
  opts.add_options()("in", po::value<std::string>(&in)->required(), "input .h5ad")(
      "out", po::value<std::string>(&out)->required(), out_help.c_str());
  std::vector<std::string> values(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    opts.add_options()(k.name.c_str(), po::value<std::string>(&values[i])->value_name("V"),
                       (k.help + " (default: " + (k.default_value.empty() ? "none" : k.default_value) + ")").c_str());
  }
  po::positional_options_description pos;
  pos.add("in", 1).add("out", 1);
  CommonOptions common;
  Parsed parsed;
  if (!parse(args, opts, pos, usage, name, common, rt, parsed)) return false;
  for (size_t i = 0; i < keys.size(); ++i)
    if (parsed.vm.count(keys[i].name)) config.set(name, keys[i].name, values[i]);
  return true;
}

}  // namespace velofield::cli
