// velofield run --config FILE.ini: read (or simulate), run the configured stages in order with a
// checkpoint after each, write the output, print per-stage times. --resume continues from the
// checkpoint when the config and the input are unchanged; SIGTERM/SIGUSR1 stop after the current
// stage with a valid checkpoint and exit code 75 (requeue).
#include <cstdio>
#include <filesystem>

#include "cli/command.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/interrupt.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "data/summary.hpp"
#include "data/validate_names.hpp"
#include "io/h5ad.hpp"
#include "io/output_space.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stage.hpp"
#include "simulate/simulate_source.hpp"

namespace velofield::cli {

namespace {

struct RunFlags {
  std::string config_path, from, until, only;
  bool resume = false;
};

void make_output_directory(const Runtime& rt, const Config& config, const std::string& output) {
  std::string problem;
  if (rt.rank() == 0) {
    const auto dir = std::filesystem::path(output).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) problem = describe(output, config.where("run", "output"), "cannot create the output directory: " + ec.message());
  }
  agree(rt.comm(), problem.empty(), problem);
}

bool exists_everywhere(const Runtime& rt, const std::string& path) {
  int e = rt.rank() == 0 && std::filesystem::exists(path) ? 1 : 0;
  MPI_Bcast(&e, 1, MPI_INT, 0, rt.comm());
  return e == 1;
}

std::string final_table(const std::vector<StageRecord>& timings) {
  std::string out = "\nstage                 wall s   peak RSS MiB/rank (max)\n";
  double total = 0;
  for (const auto& t : timings) {
    int64_t rss = 0;
    for (auto v : t.peak_rss_bytes) rss = std::max(rss, v);
    char line[160];
    std::snprintf(line, sizeof line, "%-20s %7.3f   %8.1f\n", t.stage.c_str(), t.wall_seconds, static_cast<double>(rss) / 1048576.0);
    out += line;
    total += t.wall_seconds;
  }
  char line[160];
  std::snprintf(line, sizeof line, "%-20s %7.3f\n", "total", total);
  return out + line;
}

int run_pipeline(Runtime& rt, const RunFlags& flags, const std::vector<std::pair<std::string, std::string>>& overrides, bool quiet) {
  Config config = Config::from_file(flags.config_path);
  for (const auto& [k, v] : overrides) config.set_dotted(k, v);
  check_stage_keys(config, {"run", "simulate"});
  const PipelinePlan plan = plan_from_config(config);
  const std::vector<std::string> selected = select_stages(plan.stages, flags.from, flags.until, flags.only);
  if (plan.output.empty() && plan.checkpoint && flags.resume) throw Error(config.where("run", "output") + ": --resume needs an output file");
  if (!plan.output.empty()) {
    make_output_directory(rt, config, plan.output);
    check_output_space(rt.comm(), plan.output, config.where("run", "output"), minimum_output_bytes(plan.input, plan.checkpoint));
  }
  install_interrupt_handlers();

  RunRecord record;
  record.version = VELOFIELD_VERSION;
  record.config_text = canonical_config(config);
  record.config_hash = hash_hex(record.config_text);
  record.ranks = rt.size();
  const std::string checkpoint = plan.output.empty() ? "" : checkpoint_path(plan.output);

  Dataset d;
  std::vector<std::string> to_run = selected;
  const bool simulated = !std::filesystem::exists(plan.input) && plan.simulate_if_missing;
  record.input = simulated ? "simulated: [simulate] section" : plan.input;
  if (flags.resume && !checkpoint.empty() && exists_everywhere(rt, checkpoint)) {
    StageTimer t(rt.comm(), "read checkpoint");
    d = read_h5ad(checkpoint, rt.comm());
    t.stop(d.n_obs, d.n_vars);
    const RunRecord previous = load_run_record(d);
    if (previous.config_hash != record.config_hash)
      fail(checkpoint, "uns/velofield/config_hash",
           "the checkpoint was made with another config (" + previous.config_hash + ", now " + record.config_hash +
               "); run without --resume to start over, or restore the config");
    record.input_checksum = simulated ? "simulated" : file_checksum(plan.input, rt.comm());
    if (previous.input_checksum != record.input_checksum)
      fail(checkpoint, "uns/velofield/input_checksum", "the input " + plan.input + " changed since the checkpoint; run without --resume");
    record.completed_stages = previous.completed_stages;
    record.timings = previous.timings;
    std::vector<std::string> remaining;
    for (const auto& s : selected)
      if (std::find(previous.completed_stages.begin(), previous.completed_stages.end(), s) == previous.completed_stages.end())
        remaining.push_back(s);
    to_run = remaining;
    std::string done;
    for (const auto& s : previous.completed_stages) done += (done.empty() ? "" : ", ") + s;
    log().info("resuming from " + checkpoint + " (done: " + (done.empty() ? "nothing" : done) + ")");
  } else {
    if (flags.resume) log().info("--resume: no checkpoint " + checkpoint + ", starting from the input");
    if (simulated) {
      log().info("input " + plan.input + " not found: simulating a dataset instead ([simulate] section)");
      StageTimer t(rt.comm(), "simulate");
      d = simulate_from_config(rt.comm(), config);
      record.timings.push_back(t.stop(d.n_obs, d.n_vars));
      record.input_checksum = "simulated";
    } else {
      StageTimer t(rt.comm(), "read");
      ReadOptions ro;
      ro.count_layers = plan.count_layers;
      d = read_h5ad(plan.input, rt.comm(), ro);
      validate_names(d);
      record.timings.push_back(t.stop(d.n_obs, d.n_vars));
      record.input_checksum = file_checksum(plan.input, rt.comm());
    }
    const std::string summary = summarize(d);
    if (rt.rank() == 0 && !quiet) std::fputs(summary.c_str(), stdout);
  }

  size_t stages_done = 0;
  // Checkpoints cost a full write; a short pipeline (the tutorial runs in seconds) would spend
  // most of its time on them, so one is written once `checkpoint_interval` seconds of stages
  // have passed since the last, and always when a stop signal arrived.
  double work_since_checkpoint = 0;
  try {
    run_stages(d, config, to_run, [&](const std::string& stage, const StageRecord& timing) {
      record.completed_stages.push_back(stage);
      record.timings.push_back(timing);
      store_run_record(d, record);
      const bool more = ++stages_done < to_run.size();
      work_since_checkpoint += timing.wall_seconds;
      const int sig = more ? interrupt_requested(rt.comm()) : 0;
      const bool due = plan.checkpoint && !checkpoint.empty() && more && work_since_checkpoint >= plan.checkpoint_interval;
      if (due || sig != 0) {
        const std::string path = checkpoint.empty() ? "velofield.checkpoint.h5ad" : checkpoint;
        StageTimer t(rt.comm(), "checkpoint");
        WriteOptions wo;
        wo.replace_source = true;   // after --resume, d was read from this very checkpoint
        write_h5ad(d, path, wo);
        record.timings.push_back(t.stop(d.n_obs, d.n_vars));
        work_since_checkpoint = 0;
        log().detail("checkpoint " + path);
      }
      if (sig != 0) throw StopRequested{sig, stage};
    });
  } catch (const StopRequested& stop) {
    log().info("signal " + std::to_string(stop.signal) + ": stopped after stage '" + stop.after_stage + "'; checkpoint " +
               checkpoint + "; continue with: velofield run --config " + flags.config_path + " --resume");
    return kExitRequeue;
  }

  record.complete = true;
  store_run_record(d, record);
  if (!plan.output.empty()) {
    StageTimer t(rt.comm(), "write");
    write_h5ad(d, plan.output);
    record.timings.push_back(t.stop(d.n_obs, d.n_vars));
    if (rt.rank() == 0 && !checkpoint.empty()) std::filesystem::remove(checkpoint);
    log().info("wrote " + plan.output);
  }
  if (rt.rank() == 0 && !quiet) std::fputs(final_table(record.timings).c_str(), stdout);
  return 0;
}

}  // namespace

Command run_command() {
  return {"run", "run the pipeline of a config file: read, stages in order, write",
          [](Runtime& rt, const std::vector<std::string>& args) {
            RunFlags flags;
            po::options_description opts("run options");
            opts.add_options()("config,c", po::value<std::string>(&flags.config_path)->required(), "pipeline config (INI)")(
                "from", po::value<std::string>(&flags.from), "start at this stage (the input holds what earlier stages wrote)")(
                "until", po::value<std::string>(&flags.until), "stop after this stage")(
                "only", po::value<std::string>(&flags.only), "run this stage only")(
                "resume", po::bool_switch(&flags.resume),
                "continue from OUTPUT.checkpoint.h5ad after its last completed stage (refused if the config or input changed)");
            po::positional_options_description pos;
            CommonOptions common;
            Parsed parsed;
            const std::string usage =
                "usage: velofield run --config FILE.ini [--from S] [--until S] [--only S] [--resume] [--section.key value ...]\n\n"
                "The [run] section names input, output and stages; every other section holds one\n"
                "stage's keys. Any key can be overridden on the command line as --section.key value.\n"
                "A checkpoint is written after each stage; on SIGTERM/SIGUSR1 the run stops after the\n"
                "current stage and exits with code 75 (requeue), to be continued with --resume.";
            if (!parse(args, opts, pos, usage, "run", common, rt, parsed, true)) return 0;
            return run_pipeline(rt, flags, parsed.extra, common.runtime.quiet);
          }};
}

}  // namespace velofield::cli
