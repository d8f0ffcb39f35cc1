#include <cstdio>
#include <filesystem>

#include "cli/command.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "data/summary.hpp"
#include "data/validate.hpp"
#include "io/h5ad.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stage.hpp"
#include "simulate/simulate_source.hpp"

namespace velofield::cli {

Command run_command() {
  return {"run", "run the pipeline of a config file: read, stages in order, write",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::string config_path;
            po::options_description opts("run options");
            opts.add_options()("config,c", po::value<std::string>(&config_path)->required(), "pipeline config (INI)");
            po::positional_options_description pos;
            CommonOptions common;
            Parsed parsed;
            const std::string usage =
                "usage: velofield run --config FILE.ini [--section.key value ...]\n\n"
                "The [run] section names input, output and stages; every other section holds one\n"
                "stage's keys. Any key can be overridden on the command line as --section.key value.";
            if (!parse(args, opts, pos, usage, "run", common, rt, parsed, true)) return 0;
            Config config = Config::from_file(config_path);
            for (const auto& [k, v] : parsed.extra) config.set_dotted(k, v);
            check_stage_keys(config, {"run", "simulate"});
            const PipelinePlan plan = plan_from_config(config);

            // Make the output's folder now, so a bad output path fails before any work.
            if (!plan.output.empty()) {
              std::string problem;
              if (rt.rank() == 0) {
                const auto dir = std::filesystem::path(plan.output).parent_path();
                std::error_code ec;
                if (!dir.empty()) std::filesystem::create_directories(dir, ec);
                if (ec) problem = describe(plan.output, config.where("run", "output"), "cannot create the output directory: " + ec.message());
              }
              agree(rt.comm(), problem.empty(), problem);
            }
            Dataset d;
            if (!std::filesystem::exists(plan.input) && plan.simulate_if_missing) {
              log().info("input " + plan.input + " not found: simulating a dataset instead ([simulate] section)");
              StageTimer t(rt.comm(), "simulate");
              d = simulate_from_config(rt.comm(), config);
              t.stop(d.n_obs, d.n_vars);
            } else {
              StageTimer t(rt.comm(), "read");
              ReadOptions ro;
              ro.count_layers = plan.count_layers;
              d = read_h5ad(plan.input, rt.comm(), ro);
              t.stop(d.n_obs, d.n_vars);
            }
            const std::string summary = summarize(d);
            if (rt.rank() == 0 && common.runtime.quiet == false) std::fputs(summary.c_str(), stdout);
            run_stages(d, config, plan.stages);
            if (!plan.output.empty()) {
              StageTimer t(rt.comm(), "write");
              write_h5ad(d, plan.output);
              t.stop(d.n_obs, d.n_vars);
              log().info("wrote " + plan.output);
            }
            return 0;
          }};
}

}  // namespace velofield::cli
