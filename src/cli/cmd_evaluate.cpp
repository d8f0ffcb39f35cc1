#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/command.hpp"
#include "core/log.hpp"
#include "core/text_file.hpp"
#include "core/timers.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "io/h5ad.hpp"

namespace velofield::cli {


Command evaluate_command() {
  return {"evaluate", "score a velocity against the truth (cosine) and known cluster transitions (CBDir, ICCoh)",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::string file, out;
            EvaluateOptions o;
            po::options_description opts("evaluate options");
            opts.add_options()("file", po::value<std::string>(&file)->required()->value_name("FILE.h5ad"), "the .h5ad to score")(
                "velocity", po::value<std::string>(&o.velocity)->default_value(o.velocity)->value_name("LAYER"),
                "layer with the velocity to score")(
                "truth", po::value<std::string>(&o.truth)->value_name("LAYER"),
                "layer with the true velocity (default true_velocity_S, skipped when absent; a CSR truth covers only "
                "the genes it stores)")(
                "basis", po::value<std::string>(&o.basis)->value_name("NAME"),
                "embedding: positions obsm X_NAME, velocity obsm velocity_NAME, truth obsm true_velocity_NAME")(
                "embedding-velocity", po::value<std::string>(&o.embedding_velocity)->value_name("OBSM"),
                "obsm key of the embedding velocity (default velocity_<basis>)")(
                "embedding-truth", po::value<std::string>(&o.embedding_truth)->value_name("OBSM"),
                "obsm key of the true embedding velocity (default true_velocity_<basis>)")(
                "transitions", po::value<std::string>(&o.transitions)->value_name("\"A>B,B>C\""),
                "known cluster transitions for CBDir and ICCoh; chains A>B>C and sets A>{B,C} allowed "
                "(default: uns/simulation/transitions when the file has it)")(
                "cluster-key", po::value<std::string>(&o.cluster_key)->default_value(o.cluster_key)->value_name("OBS"),
                "categorical obs column with the clusters")(
                "graph", po::value<std::string>(&o.graph)->default_value(o.graph)->value_name("OBSP"),
                "obsp neighbour graph for CBDir/ICCoh; when absent, exact kNN in obsm X_<basis>")(
                "n-neighbors", po::value<int>(&o.n_neighbors)->default_value(o.n_neighbors)->value_name("K"),
                "k of the exact kNN used when the file has no graph")(
                "out", po::value<std::string>(&out)->value_name("REPORT.json"), "write the report as JSON");
            po::positional_options_description pos;
            pos.add("file", 1);
            CommonOptions common;
            Parsed parsed;
            const std::string usage =
                "usage: velofield evaluate FILE.h5ad [--velocity velocity_S] [--truth true_velocity_S]\n"
                "                          [--transitions \"A>B,B>C\"] [--cluster-key clusters] [--basis umap] [--out report.json]\n\n"
                "Per-cell cosine similarity to the true velocity (mean, median, fraction > 0) in gene space and in the\n"
                "embedding; CBDir (cross-boundary direction correctness) and ICCoh (in-cluster coherence) for known\n"
                "transitions (VeloAE, Qiao et al. 2021; UniTVelo). Genes where the velocity is NaN (dynamo's unfitted\n"
                "genes) are left out of each cosine.";
            if (!parse(args, opts, pos, usage, "evaluate", common, rt, parsed)) return 0;
            if (parsed.vm.count("truth")) o.truth_required = true;
            else o.truth = "true_velocity_S";
            StageTimer read_timer(rt.comm(), "read");
            ReadOptions ro;
            ro.read_obsp = true;
            const Dataset d = read_h5ad(file, rt.comm(), ro);
            read_timer.stop(d.n_obs, d.n_vars);
            StageTimer timer(rt.comm(), "evaluate");
            const EvaluationReport report = evaluate_velocity(d, o);
            timer.stop(d.n_obs, d.n_vars);
            const std::string table = report.table();
            if (rt.rank() == 0) {
              std::fputs(table.c_str(), stdout);
              std::fflush(stdout);
            }
            if (!out.empty()) {
              write_text_file_on_rank0(rt.comm(), out, report.json(), "--out", "report");
              log().info("wrote " + out);
            }
            return 0;
          }};
}

}  // namespace velofield::cli
