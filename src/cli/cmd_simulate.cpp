#include <map>

#include "cli/command.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "io/h5ad.hpp"
#include "simulate/simulation_keys.hpp"
#include "simulate/simulator.hpp"

namespace velofield::cli {

Command simulate_command() {
  return {"simulate", "simulate spliced/unspliced counts with a known velocity along a branching tree",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::string out;
            WriteOptions wo;
            bool noise_free = false;
            const auto& keys = simulation_keys();
            std::vector<std::string> values(keys.size());
            po::options_description opts("simulate options (also the [simulate] section of a pipeline config)");
            opts.add_options()("out", po::value<std::string>(&out)->required()->value_name("FILE.h5ad"),
                               "output .h5ad (written to a temporary name, then renamed)");
            for (size_t i = 0; i < keys.size(); ++i) {
              const auto& k = keys[i];
              if (k.is_switch) {
                opts.add_options()(k.name.c_str(), po::bool_switch(&noise_free), k.help.c_str());
              } else {
                opts.add_options()(k.name.c_str(), po::value<std::string>(&values[i])->value_name("V"),
                                   (k.help + " (default: " + k.default_value + ")").c_str());
              }
            }
            opts.add_options()("gzip", po::value<int>(&wo.gzip_level)->default_value(0), "gzip level 1-9 for large arrays (0 = none)")(
                "chunk-rows", po::value<int64_t>(&wo.chunk_rows)->default_value(0),
                "rows per HDF5 chunk for cell-distributed arrays (0 = contiguous unless compressed)");
            po::positional_options_description pos;   // none: every option is named
            CommonOptions common;
            Parsed parsed;
            const std::string usage =
                "usage: velofield simulate --cells N --genes G --lineages L --seed S --out FILE.h5ad [options]\n\n"
                "Cells along a tree (root -> progenitor -> fate_1..fate_L), genes switching transcription on and off,\n"
                "unspliced/spliced abundances from du/dt = alpha - beta*u, ds/dt = beta*u - gamma*s in closed form,\n"
                "counts with Poisson or negative-binomial noise. Stores the truth: obs true_time, clusters, lineage;\n"
                "var true_alpha_on, true_beta, true_gamma, true_switch_time; layers true_velocity_S; obsm X_true_2d;\n"
                "uns simulation. The file is identical at any rank count.";
            if (!parse(args, opts, pos, usage, "simulate", common, rt, parsed)) return 0;
            if (wo.gzip_level < 0 || wo.gzip_level > 9)
              throw Error("velofield simulate: --gzip: expected 0-9, found " + std::to_string(wo.gzip_level));
            if (wo.chunk_rows < 0) throw Error("velofield simulate: --chunk-rows: expected >= 0");
            std::map<std::string, std::string> given;
            for (size_t i = 0; i < keys.size(); ++i) {
              if (keys[i].is_switch) {
                if (noise_free) given[keys[i].name] = "true";
              } else if (parsed.vm.count(keys[i].name)) {
                given[keys[i].name] = values[i];
              }
            }
            const SimulationOptions options = simulation_options_from(given, "velofield simulate");
            StageTimer sim_timer(rt.comm(), "simulate");
            Dataset d = simulate(rt.comm(), options);
            sim_timer.stop(d.n_obs, d.n_vars);
            StageTimer write_timer(rt.comm(), "write");
            write_h5ad(d, out, wo);
            write_timer.stop(d.n_obs, d.n_vars);
            log().info("wrote " + out);
            return 0;
          }};
}

}  // namespace velofield::cli
