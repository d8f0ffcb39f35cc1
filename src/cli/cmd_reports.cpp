// velofield scaling-report / sweep-summary: tables and plots from the files jobs/*.sbatch leave.
// Rank 0 does the work; they are meant to run as one process.
#include <cstdio>
#include <fstream>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text_file.hpp"
#include "report/scaling_report.hpp"
#include "report/sweep_summary.hpp"

namespace velofield::cli {

namespace {
// Runs `body` on rank 0 and agrees on its outcome, so that every rank exits alike.
template <class Body>
void on_rank0(Runtime& rt, Body&& body) {
  bool ok = true;
  std::string message;
  if (rt.rank() == 0) {
    try {
      body();
    } catch (const std::exception& e) {
      ok = false;
      message = e.what();
    }
  }
  agree(rt.comm(), ok, message);
}
}  // namespace

Command scaling_report_command() {
  return {"scaling-report", "strong/weak scaling table and efficiency plot from --timings files",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::vector<std::string> files;
            std::string mode = "strong", out, plot_path;
            po::options_description opts("scaling-report options");
            opts.add_options()("files", po::value<std::vector<std::string>>(&files)->multitoken()->required(),
                               "timings JSON files, one per rank count")(
                "mode", po::value<std::string>(&mode)->default_value("strong"), "strong (fixed problem) or weak (fixed problem per rank)")(
                "out", po::value<std::string>(&out), "write the table as TSV here")(
                "plot", po::value<std::string>(&plot_path), "efficiency plot (.png/.svg/.pdf)");
            po::positional_options_description pos;
            pos.add("files", -1);
            CommonOptions common;
            Parsed parsed;
            if (!parse(args, opts, pos, "usage: velofield scaling-report T1.json T2.json ... [--mode strong|weak] [--out F.tsv] [--plot F.png]",
                       "scaling-report", common, rt, parsed))
              return 0;
            if (mode != "strong" && mode != "weak") throw Error("velofield scaling-report: --mode: expected strong or weak, found '" + mode + "'");
            on_rank0(rt, [&] {
              std::vector<report::TimedRun> runs;
              for (const auto& f : files) runs.push_back(report::load_timings(f));
              const report::ScalingTable table = report::scaling_table(runs, mode == "weak");
              std::fputs(report::format_markdown(table).c_str(), stdout);
              if (!out.empty()) write_text_file(out, report::format_tsv(table), "--out", "table");
              if (!plot_path.empty()) report::plot_efficiency(table, plot_path);
            });
            return 0;
          }};
}

Command sweep_summary_command() {
  return {"sweep-summary", "one table (and plot) of a parameter sweep's tasks: overrides, timings, quality",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::string dir, out, plot_path;
            po::options_description opts("sweep-summary options");
            opts.add_options()("dir", po::value<std::string>(&dir)->required(), "the sweep's output directory (task_<i>.* files)")(
                "out", po::value<std::string>(&out), "write the table as TSV here (default: DIR/summary.tsv)")(
                "plot", po::value<std::string>(&plot_path), "wall time per task (.png/.svg/.pdf; default DIR/summary.png)");
            po::positional_options_description pos;
            pos.add("dir", 1);
            CommonOptions common;
            Parsed parsed;
            if (!parse(args, opts, pos, "usage: velofield sweep-summary DIR [--out F.tsv] [--plot F.png]", "sweep-summary", common, rt, parsed))
              return 0;
            if (out.empty()) out = dir + "/summary.tsv";
            if (plot_path.empty()) plot_path = dir + "/summary.png";
            on_rank0(rt, [&] {
              const auto tasks = report::load_sweep(dir);
              const std::string tsv = report::format_sweep_tsv(tasks);
              write_text_file(out, tsv, "--out", "table");
              report::plot_sweep(tasks, plot_path);
              std::fputs(tsv.c_str(), stdout);
              log().info("wrote " + out + " and " + plot_path);
            });
            return 0;
          }};
}

}  // namespace velofield::cli
