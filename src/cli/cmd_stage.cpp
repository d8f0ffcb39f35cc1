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
            Config config;
            if (!parse_in_out_keys(rt, args, stage->name, stage->keys, "output .h5ad",
                                   "usage: velofield " + stage->name + " IN.h5ad OUT.h5ad [options]\n\n" + stage->summary, in,
                                   out, config))
              return 0;
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
