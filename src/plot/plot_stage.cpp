#include "plot/plot_stage.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"
#include "plot/plot_commands.hpp"

namespace velofield::plot {

namespace {

// Every plot command's keys once (the first declaration's default and help): the section is
// checked against these; the figure itself is drawn with its own command's defaults.
std::vector<StageKey> plot_stage_keys() {
  std::vector<StageKey> keys{
      {"kind", "streamline-plot", "which figure: streamline-plot, topography-plot or scatter-plot"},
      {"figure", "", "the figure file (.png, .svg or .pdf); a relative path is taken beside the [run] output; its folder is created"},
  };
  for (const auto& spec : plot_commands())
    for (const auto& k : spec.keys) {
      bool seen = false;
      for (const auto& have : keys) seen = seen || have.name == k.name;
      if (!seen) keys.push_back(k);
    }
  return keys;
}

void draw(Dataset& d, const StageConfig& c) {
  const std::string kind = c.get_string("kind");
  const PlotCommandSpec* spec = find_plot_command(kind);
  if (!spec) {
    std::string known;
    for (const auto& s : plot_commands()) known += (known.empty() ? "" : ", ") + s.name;
    throw Error(c.config().where(c.section(), "kind") + ": unknown plot '" + kind + "' (known: " + known + ")");
  }
  // A relative figure path is taken beside the [run] output, so figures go with the file they
  // show (a sweep or scaling run with --run.output elsewhere does not overwrite the tutorial's).
  std::string figure = c.config().get_string(c.section(), "figure", "");
  if (figure.empty()) throw Error(c.config().where(c.section(), "figure") + ": no figure file given (e.g. figure = figures/velocity.png)");
  const std::string output = c.config().get_path("run", "output", "");
  if (std::filesystem::path(figure).is_relative())
    figure = output.empty() ? c.config().get_path(c.section(), "figure", "")
                            : (std::filesystem::path(output).parent_path() / figure).lexically_normal().string();
  for (const auto& [key, value] : c.config().section(c.section())) {
    bool ours = key == "kind" || key == "figure";
    for (const auto& k : spec->keys) ours = ours || k.name == key;
    if (!ours) throw Error(c.config().where(c.section(), key) + ": not an option of " + kind);
  }
  const EmbeddingPlotRequest request = plot_request(*spec, StageConfig(c.config(), c.section(), spec->keys));
  int rank = 0;
  MPI_Comm_rank(d.comm, &rank);
  const std::filesystem::path folder = std::filesystem::path(figure).parent_path();
  std::error_code ec;
  if (rank == 0 && !folder.empty()) std::filesystem::create_directories(folder, ec);
  agree(d.comm, !ec, c.config().where(c.section(), "figure") + ": cannot create the folder " + folder.string() + ": " + ec.message());
  const FigureReport report = plot_embedding(d, request, figure);
  if (spec->kind != PlotKind::scatter)
    log().info(cat(kind, ": ", report.streamlines, " streamlines, ", report.arrows, " arrowheads"));
  log().info("wrote " + figure);
}

}  // namespace

Stage plot_stage() {
  Stage s{"plot", "draw a figure of the pipeline's data (an entry plot:NAME with section [plot:NAME])", plot_stage_keys(), draw};
  s.command = false;   // `velofield streamline-plot IN OUT.png` etc. are the commands
  return s;
}

}  // namespace velofield::plot
