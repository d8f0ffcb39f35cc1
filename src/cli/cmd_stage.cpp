#include "cli/command.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "data/validate_names.hpp"
#include "io/h5ad.hpp"
#include "io/output_space.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stage.hpp"

namespace velofield::cli {

// `velofield <stage> IN.h5ad OUT.h5ad [--key value ...]`: one stage alone, its keys as options.
Command stage_command(const std::string& stage_name) {
  const Stage* stage = find_stage(stage_name);
  return {stage->name, stage->summary, [stage](Runtime& rt, const std::vector<std::string>& args) {
            std::string in, out;
            po::options_description opts(stage->name + " options (INI section [" + stage->name + "])");
            opts.add_options()("in", po::value<std::string>(&in)->required(), "input .h5ad")(
                "out", po::value<std::string>(&out)->required(), "output .h5ad");
            std::vector<std::string> values(stage->keys.size());
            for (size_t i = 0; i < stage->keys.size(); ++i) {
              const auto& k = stage->keys[i];
              opts.add_options()(k.name.c_str(), po::value<std::string>(&values[i])->value_name("V"),
                                 (k.help + " (default: " + (k.default_value.empty() ? "none" : k.default_value) + ")").c_str());
            }
            po::positional_options_description pos;
            pos.add("in", 1).add("out", 1);
            CommonOptions common;
            Parsed parsed;
            if (!parse(args, opts, pos, "usage: velofield " + stage->name + " IN.h5ad OUT.h5ad [options]\n\n" + stage->summary,
                       stage->name, common, rt, parsed))
              return 0;
            Config config;
            for (size_t i = 0; i < stage->keys.size(); ++i)
              if (parsed.vm.count(stage->keys[i].name)) config.set(stage->name, stage->keys[i].name, values[i]);
            check_output_space(rt.comm(), out, "", minimum_output_bytes(in, false));
            StageTimer read_timer(rt.comm(), "read");
            Dataset d = read_h5ad(in, rt.comm());
            validate_names(d);
            read_timer.stop(d.n_obs, d.n_vars);
            run_stages(d, config, {stage->name});
            StageTimer write_timer(rt.comm(), "write");
            write_h5ad(d, out);
            write_timer.stop(d.n_obs, d.n_vars);
            log().info("wrote " + out);
            return 0;
          }};
}

}  // namespace velofield::cli
