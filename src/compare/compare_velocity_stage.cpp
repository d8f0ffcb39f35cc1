#include "compare/compare_velocity_stage.hpp"

#include <mpi.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "compare/comparison_figure.hpp"
#include "compare/comparison_report.hpp"
#include "compare/method_runs.hpp"
#include "compare/velocity_consensus.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text_file.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "transition/transition_genes.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/velocity_method.hpp"

namespace velofield {

namespace {

std::vector<StageKey> keys() {
  return {
      {"methods", "stochastic,velovi,celldancer",
       "velocity methods of the dynamics stage to compare (at least two, comma-separated); a name whose "
       "layers/velocity_S_<name> is in the input is read instead of run (any name, e.g. an imported velocity)"},
      {"rerun", "false", "run every method even when the input already holds its layers/velocity_S_<method>"},
      {"dynamics_options", "",
       "keys of [dynamics] for the methods run here, 'key=value, key=value' (e.g. max_epochs=30, max_epoches=50); "
       "under `velofield run` the [dynamics] section applies too"},
      {"pca_basis", "pca", "embedding whose velocities are compared: obsm X_<pca_basis> (cell-velocities projects each method)"},
      {"basis", "umap", "embedding of CBDir and of the figure: obsm X_<basis>; empty: neither"},
      {"transitions", "",
       "known cluster transitions for CBDir/ICCoh, 'A>B,B>C' (chains and sets A>{B,C} allowed); empty: "
       "uns/simulation/transitions when present, else no CBDir"},
      {"cluster_key", "clusters", "categorical obs column of the clusters (CBDir, ICCoh, figure colours)"},
      {"graph", "connectivities", "obsp neighbour graph of CBDir/ICCoh; absent: the exact 30-NN in X_<basis>"},
      {"report", "", "Markdown report file; a relative path is taken beside the [run] output; empty: none"},
      {"figure", "", "PNG figure (agreement on the embedding + one streamline panel per method); relative: beside the [run] output; empty: none"},
      {"color_key", "", "cluster colours of the streamline panels: 'name=#rrggbb,...' (as the plot commands)"},
  };
}

std::string option(const StageConfig& sc, const std::string& key) {
  return sc.config().has(sc.section(), key) ? sc.config().where(sc.section(), key) : "--" + key;
}

std::string known_methods() {
  std::string out;
  for (const auto& m : velocity_methods()) out += (out.empty() ? "" : ", ") + m.name;
  return out;
}

// A relative output file beside the [run] output, as the plot stage places its figures.
std::string output_path(const StageConfig& sc, const std::string& key) {
  std::string path = trim(sc.get_string(key));
  if (path.empty()) return path;
  const std::string output = sc.config().get_path("run", "output", "");
  if (std::filesystem::path(path).is_relative())
    path = output.empty() ? sc.config().get_path(sc.section(), key, "")
                          : (std::filesystem::path(output).parent_path() / path).lexically_normal().string();
  return path;
}

void prepare_folder(MPI_Comm comm, const std::string& path, const std::string& where) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::error_code ec;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (rank == 0 && !folder.empty()) std::filesystem::create_directories(folder, ec);
  agree(comm, !ec, where + ": cannot create the folder " + folder.string() + ": " + ec.message());
}

double wall(MPI_Comm comm) {
  MPI_Barrier(comm);
  return MPI_Wtime();
}

double mean_over_cells(MPI_Comm comm, const std::vector<double>& v, int64_t n_obs) {
  double s = 0;
  for (double x : v) s += x;
  MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, comm);
  return s / static_cast<double>(n_obs);
}

void run_compare_velocity(Dataset& d, const StageConfig& sc) {
  register_builtin_velocity_methods();
  const std::vector<std::string> names = sc.get_list("methods");
  if (names.size() < 2) fail("", option(sc, "methods"), "expected at least two methods, found " + std::to_string(names.size()));
  for (size_t a = 0; a < names.size(); ++a) {
    if (names[a] == "consensus") fail("", option(sc, "methods"), "'consensus' is the name of the result, not a method");
    for (size_t b = a + 1; b < names.size(); ++b)
      if (names[a] == names[b]) fail("", option(sc, "methods"), "method '" + names[a] + "' named twice");
  }
  const bool rerun = sc.get_bool("rerun");
  // Each name is run (a registered method) or read (its layer is in the input): decided and checked
  // before any work, so a misspelt name costs nothing.
  std::vector<const VelocityMethod*> to_run(names.size(), nullptr);
  for (size_t k = 0; k < names.size(); ++k) {
    const bool have = d.layers.count("velocity_S_" + names[k]) != 0;
    if (have && !rerun) continue;
    to_run[k] = find_velocity_method(names[k]);
    if (!to_run[k])
      fail("", option(sc, "methods"),
           "unknown velocity method '" + names[k] + "' (known: " + known_methods() + "; or a layers/velocity_S_" + names[k] +
               " in the input" + (have ? ", which --rerun true does not read" : "") + ")");
  }
  const std::string pca_basis = trim(sc.get_string("pca_basis")), basis = trim(sc.get_string("basis"));
  if (pca_basis.empty()) fail("", option(sc, "pca_basis"), "no embedding named");
  d.obsm_dense("X_" + pca_basis);
  if (!basis.empty()) d.obsm_dense("X_" + basis);

  // The [dynamics] view the methods read, with dynamics_options applied.
  const Stage* dynamics = find_stage("dynamics");
  if (!dynamics) throw Error("internal: the dynamics stage is not registered");
  Config config = sc.config();
  // Items are split at commas; an item without '=' continues the previous value (a list value such
  // as deepvelo_layers=64,64).
  std::vector<std::pair<std::string, std::string>> settings;
  for (const std::string& item : sc.get_list("dynamics_options")) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos && !settings.empty()) {
      settings.back().second += "," + trim(item);
      continue;
    }
    const std::string key = eq == std::string::npos ? "" : trim(item.substr(0, eq));
    bool declared = false;
    for (const auto& k : dynamics->keys) declared = declared || k.name == key;
    if (key.empty() || !declared || key == "method")
      fail("", option(sc, "dynamics_options"),
           "'" + item + "' is not key=value with a key of a velocity method (see velofield dynamics --help)");
    settings.emplace_back(key, trim(item.substr(eq + 1)));
  }
  for (const auto& kv : settings) config.set("dynamics", kv.first, kv.second);
  const StageConfig dynamics_view(config, "dynamics", dynamics->keys);

  ComparisonSummary summary;
  // Each method's own transition genes: CBDir and the figure project it as the method alone would be
  // (the agreement uses the comparison genes). Kept as var/use_for_transition_<method>, so a later
  // comparison that reads the layer reads them too.
  std::vector<std::vector<uint8_t>> own_genes(names.size());
  summary.n_obs = d.n_obs;
  summary.n_vars = d.n_vars;
  summary.pca_basis = pca_basis;
  summary.basis = basis;
  for (size_t k = 0; k < names.size(); ++k) {
    MethodOutcome m;
    m.name = names[k];
    m.origin = to_run[k] ? "ran" : "read";
    if (to_run[k]) {
      log().info(cat("compare-velocity: running ", names[k], " (", k + 1, " of ", names.size(), ")"));
      const double start = wall(d.comm);
      MethodVelocity v = run_velocity_method(d, *to_run[k], dynamics_view);
      m.seconds = wall(d.comm) - start;
      d.layers["velocity_S_" + names[k]] = std::move(v.velocity);
      own_genes[k] = v.transition_genes;
      d.var.set("use_for_transition_" + names[k], Column::numeric(Array::from(own_genes[k], DType::boolean)));
      log().info(cat("compare-velocity: ", names[k], " took ", m.seconds, " s"));
    } else {
      log().info("compare-velocity: reading layers/velocity_S_" + names[k] + " (--rerun true runs it instead)");
      const Matrix& v = d.layers.at("velocity_S_" + names[k]);
      std::string problem;
      if (matrix_cols(v) != d.n_vars) problem = "has " + std::to_string(matrix_cols(v)) + " columns, expected one per gene (" + std::to_string(d.n_vars) + ")";
      agree(d.comm, problem.empty(), describe(d.source, "layers/velocity_S_" + names[k], problem));
      // The flags a run here left, else every gene with a velocity.
      const std::string flags = "use_for_transition_" + names[k];
      if (d.var.has(flags) && d.var.columns.at(flags).kind == Column::Kind::numeric) {
        for (double f : d.var.columns.at(flags).values.to_double()) own_genes[k].push_back(f != 0 ? 1 : 0);
      } else {
        own_genes[k] = comparison_genes(d.comm, {&v});
      }
    }
    // A gene whose velocity is not finite everywhere would turn the projection into NaN.
    const std::vector<uint8_t> finite = comparison_genes(d.comm, {&d.layers.at("velocity_S_" + names[k])}, false);
    for (size_t g = 0; g < finite.size(); ++g) own_genes[k][g] = own_genes[k][g] && finite[g];
    summary.methods.push_back(m);
  }
  std::vector<const Matrix*> velocities;
  for (const auto& n : names) velocities.push_back(&d.layers.at("velocity_S_" + n));

  // The comparison genes and each method's per-gene scale.
  const std::vector<uint8_t> genes = comparison_genes(d.comm, velocities);
  std::vector<std::string> gene_names;
  for (size_t g = 0; g < genes.size(); ++g)
    if (genes[g]) gene_names.push_back(g < d.var.index.size() ? d.var.index[g] : std::to_string(g));
  summary.genes = static_cast<int64_t>(gene_names.size());
  if (gene_names.empty())
    fail(d.source, "layers/velocity_S_" + names.front(),
         "no gene has a finite, nonzero velocity in every method (" + [&] {
           std::string all;
           for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
           return all;
         }() + "): nothing to compare");
  log().info(cat("compare-velocity: ", gene_names.size(), " of ", d.n_vars, " genes have a velocity in every method"));
  std::vector<std::vector<double>> scales;
  for (const Matrix* v : velocities) scales.push_back(gene_rms(d.comm, d.n_obs, *v, genes));

  // Each method projected to PCA space on the comparison genes, and to the figure's embedding on
  // its own genes (one projection when the two embeddings are the same).
  const bool own_projection = !basis.empty() && basis != pca_basis;
  for (size_t k = 0; k < names.size(); ++k) {
    log().info("compare-velocity: projecting " + names[k]);
    ProjectedVelocity p = project_velocity(d, *velocities[k], genes, {pca_basis}, config);
    d.obsm["velocity_" + pca_basis + "_" + names[k]] = std::move(p.velocities[0]);
    if (own_projection) {
      ProjectedVelocity q = project_velocity(d, *velocities[k], own_genes[k], {basis}, config);
      d.obsm["velocity_" + basis + "_" + names[k]] = std::move(q.velocities[0]);
    }
  }
  std::vector<std::string> bases{pca_basis};
  if (own_projection) bases.push_back(basis);
  std::vector<const DenseArray*> projected;
  for (const auto& n : names) projected.push_back(&d.obsm_dense("velocity_" + pca_basis + "_" + n));
  const AgreementResult agreement = velocity_agreement(d.comm, projected);
  summary.agreement_median = agreement.matrix;
  summary.agreement_mean = agreement.mean_matrix;
  const ScoreSummary cells = summarize_scores(agreement.per_cell, d.comm);
  summary.agreement_cell_median = cells.median;
  summary.agreement_cell_mean = cells.mean;
  for (size_t k = 0; k < names.size(); ++k) summary.methods[k].mean_weight = mean_over_cells(d.comm, agreement.weights[k], d.n_obs);
  d.obs.set("velocity_agreement", Column::numeric(Array::from(agreement.per_cell)));

  // The consensus becomes the dataset's velocity, with the flags and record the later stages read.
  d.layers["velocity_S"] = consensus_velocity(velocities, scales, agreement.weights, genes);
  std::vector<int64_t> chosen;
  for (size_t g = 0; g < genes.size(); ++g)
    if (genes[g]) chosen.push_back(static_cast<int64_t>(g));
  store_transition_genes(d, chosen);
  d.var.set("use_for_dynamics", Column::numeric(Array::from(genes, DType::boolean)));
  if (!d.uns.children.count("dynamics")) d.uns["dynamics"] = dynamics_record(record_for(d));
  // A transition matrix of the input belongs to the velocity it was computed from.
  for (auto it = d.obsp.begin(); it != d.obsp.end();) {
    const std::string tail = "_transition_matrix";
    const bool stale = it->first.size() > tail.size() && it->first.compare(it->first.size() - tail.size(), tail.size(), tail) == 0;
    if (stale) log().info("compare-velocity: dropping obsp/" + it->first + " (computed from the input's velocity)");
    it = stale ? d.obsp.erase(it) : std::next(it);
  }
  {
    ProjectedVelocity p = project_velocity(d, d.layers.at("velocity_S"), genes, bases, config);
    for (size_t b = 0; b < bases.size(); ++b) {
      d.obsm["velocity_" + bases[b]] = std::move(p.velocities[b]);
      if (!p.grids[b].children.empty()) d.uns["grid_velocity_" + bases[b]] = std::move(p.grids[b]);
    }
  }
  summary.methods.push_back(MethodOutcome{"consensus", "computed", 0, 0, NAN, NAN, {}, {}});

  // CBDir / ICCoh per method and for the consensus.
  const std::string transitions = trim(sc.get_string("transitions"));
  for (auto& m : summary.methods) {
    const bool consensus = m.name == "consensus";
    m.cbdir = m.iccoh = NAN;
    if (basis.empty()) continue;
    EvaluateOptions o;
    o.velocity = consensus ? "velocity_S" : "velocity_S_" + m.name;
    o.truth = "";
    o.basis = basis;
    o.embedding_velocity = consensus ? "velocity_" + basis : "velocity_" + basis + "_" + m.name;
    o.embedding_truth = "-";   // no truth in the embedding is scored here
    o.transitions = transitions;
    o.cluster_key = sc.get_string("cluster_key");
    o.graph = sc.get_string("graph");
    const EvaluationReport r = evaluate_velocity(d, o);
    summary.transitions = r.transitions_text;
    summary.neighbor_source = r.neighbor_source;
    if (r.cbdir) {
      m.cbdir = r.cbdir_mean;
      m.cbdir_groups = *r.cbdir;
    }
    if (r.iccoh) {
      m.iccoh = r.iccoh_mean;
      m.iccoh_groups = *r.iccoh;
    }
    // The embedding-truth note is not about the comparison (no truth is scored here).
    if (&m == &summary.methods.front())
      for (const auto& n : r.notes)
        if (n.rfind("embedding cosine skipped", 0) != 0) summary.notes.push_back(n);
    log().info(cat("compare-velocity: ", m.name, ": CBDir ", m.cbdir, ", ICCoh ", m.iccoh));
  }
  summary.notes.push_back("consensus: per-gene RMS-normalised velocities averaged with per-cell weights "
                          "w = max(0, mean cosine with the other methods); genes outside the comparison are 0");
  d.uns["velocity_comparison"] = comparison_uns(summary, gene_names);

  const std::string report = output_path(sc, "report");
  if (!report.empty()) {
    prepare_folder(d.comm, report, option(sc, "report"));
    write_text_file_on_rank0(d.comm, report, comparison_markdown(summary), option(sc, "report"), "report");
    log().info("compare-velocity: wrote " + report);
  }
  const std::string figure = output_path(sc, "figure");
  if (!figure.empty()) {
    if (basis.empty()) fail("", option(sc, "figure"), "the figure needs an embedding (--basis)");
    prepare_folder(d.comm, figure, option(sc, "figure"));
    ComparisonFigureOptions fo;
    fo.basis = basis;
    fo.color = d.obs.has(sc.get_string("cluster_key")) ? sc.get_string("cluster_key") : "";
    fo.color_key = sc.get_string("color_key");
    std::vector<ComparisonPanel> panels;
    for (const auto& m : summary.methods) {
      char cbdir[48] = "";
      if (std::isfinite(m.cbdir)) std::snprintf(cbdir, sizeof cbdir, " (CBDir %.3f)", m.cbdir);
      panels.push_back({m.name == "consensus" ? "velocity_" + basis : "velocity_" + basis + "_" + m.name, m.name + cbdir});
    }
    draw_comparison_figure(d, panels, fo, figure);
    log().info("compare-velocity: wrote " + figure);
  }
}

}  // namespace

Stage compare_velocity_stage() {
  return {"compare-velocity",
          "Several velocity methods side by side (issue 12): layers/velocity_S_<method> (run or read), their agreement "
          "in PCA space (obs/velocity_agreement, uns/velocity_comparison), the consensus layers/velocity_S, CBDir/ICCoh "
          "per method, a Markdown report and a figure",
          keys(), run_compare_velocity};
}

}  // namespace velofield
