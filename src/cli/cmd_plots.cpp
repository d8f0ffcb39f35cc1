// velofield streamline-plot / topography-plot / scatter-plot IN.h5ad OUT.{png,svg,pdf}: the plot's
// declared keys as options (src/plot/plot_commands.cpp), the figure drawn on rank 0.
#include "cli/command.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "io/h5ad.hpp"
#include "plot/plot_commands.hpp"

namespace velofield::cli {

namespace {

Command plot_command(const std::string& name) {
  const plot::PlotCommandSpec* spec = plot::find_plot_command(name);
  return {spec->name, spec->summary, [spec](Runtime& rt, const std::vector<std::string>& args) {
            std::string in, out;
            Config config;
            if (!parse_in_out_keys(rt, args, spec->name, spec->keys, "the figure: .png, .svg or .pdf",
                                   "usage: velofield " + spec->name +
                                       " IN.h5ad OUT.{png,svg,pdf} [--basis umap] [--color clusters] [options]\n\n" + spec->summary,
                                   in, out, config))
              return 0;
            const plot::EmbeddingPlotRequest request = plot::plot_request(*spec, StageConfig(config, spec->name, spec->keys));
            StageTimer read_timer(rt.comm(), "read");
            ReadOptions ro;
            ro.read_obsp = false;   // no plot needs the cell graphs
            const Dataset d = read_h5ad(in, rt.comm(), ro);
            read_timer.stop(d.n_obs, d.n_vars);
            StageTimer timer(rt.comm(), spec->name);
            const plot::FigureReport report = plot::plot_embedding(d, request, out);
            timer.stop(d.n_obs, d.n_vars);
            if (spec->kind != plot::PlotKind::scatter)
              log().info(cat(spec->name, ": ", report.streamlines, " streamlines, ", report.arrows, " arrowheads"));
            log().info("wrote " + out);
            return 0;
          }};
}

}  // namespace

Command streamline_plot_command() { return plot_command("streamline-plot"); }
Command topography_plot_command() { return plot_command("topography-plot"); }
Command scatter_plot_command() { return plot_command("scatter-plot"); }

}  // namespace velofield::cli
