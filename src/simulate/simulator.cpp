#include "simulate/simulator.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"
#include "simulate/counter_rng.hpp"
#include "simulate/csr_row_builder.hpp"
#include "simulate/tree_model.hpp"

namespace velofield {

namespace {

DType code_dtype(size_t categories) {
  // anndata picks the smallest signed integer that holds the codes.
  if (categories <= 127) return DType::i8;
  if (categories <= 32767) return DType::i16;
  return DType::i32;
}

Column categorical_column(const std::vector<int32_t>& codes, std::vector<std::string> categories) {
  Array a = Array::from(codes).converted(code_dtype(categories.size()));
  return Column::categorical(std::move(a), std::move(categories));
}

template <class T>
UnsNode scalar(T v) {
  return UnsNode::scalar<T>(v);
}

UnsNode simulation_record(const sim::TreeModel& model, const std::vector<int64_t>& truth_genes, bool dense_truth,
                          double density_s, double density_u) {
  const SimulationOptions& o = model.options();
  UnsNode u = UnsNode::dict();
  u["generator"] = UnsNode::string(std::string("velofield ") + VELOFIELD_VERSION + " simulate");
  u["model"] = UnsNode::string(
      "du/dt = alpha(t) - beta*u, ds/dt = beta*u - gamma*s; alpha(t) piecewise constant (alpha_on / alpha_off = 0) "
      "along a tree: trunk [0, branch_point_time], then one branch per lineage up to time_max; "
      "E[count] = library_size * abundance; true_velocity_S = beta*u - gamma*s at library size 1");
  u["n_cells"] = scalar<int64_t>(o.n_cells);
  u["n_genes"] = scalar<int64_t>(o.n_genes);
  u["n_lineages"] = scalar<int64_t>(o.n_lineages);
  u["seed"] = scalar<int64_t>(static_cast<int64_t>(o.seed));
  u["density"] = scalar<double>(o.density);
  u["noise"] = UnsNode::string(o.noise_free ? "none" : o.noise);
  u["nb_theta"] = scalar<double>(o.nb_theta);
  u["noise_free"] = scalar<int64_t>(o.noise_free ? 1 : 0);
  u["library_size_sd"] = scalar<double>(o.noise_free ? 0.0 : o.library_size_sd);
  u["branch_time"] = scalar<double>(o.branch_time);
  u["branch_point_time"] = scalar<double>(model.branch_time());
  u["time_max"] = scalar<double>(kSimulationTimeMax);
  u["lineage_gene_fraction"] = scalar<double>(o.lineage_gene_fraction);
  u["layout_noise"] = scalar<double>(o.layout_noise);
  u["truth_max_entries"] = scalar<int64_t>(o.truth_max_entries);
  u["alpha_scale"] = scalar<double>(model.alpha_scale());
  u["alpha_off"] = scalar<double>(0.0);
  u["expected_spliced_density"] = scalar<double>(model.expected_spliced_density());
  u["expected_unspliced_density"] = scalar<double>(model.expected_unspliced_density());
  u["spliced_density"] = scalar<double>(density_s);
  u["unspliced_density"] = scalar<double>(density_u);
  u["transitions"] = UnsNode::string(model.transitions());
  u["true_velocity_layout"] = UnsNode::string(dense_truth ? "dense" : "csr_gene_subset");
  DenseArray genes;
  genes.shape = {static_cast<int64_t>(truth_genes.size())};
  genes.values = Array::from(truth_genes);
  u["true_velocity_genes"] = UnsNode::numeric(std::move(genes));
  return u;
}

}  // namespace

Dataset simulate(MPI_Comm comm, const SimulationOptions& options) {
  validate(options);
  const sim::TreeModel model(options);
  Dataset d = Dataset::create(comm, options.n_cells, options.n_genes);
  const int64_t n = d.n_obs_local, G = options.n_genes, begin = d.obs_begin;
  const std::vector<sim::GeneKinetics>& genes = model.genes();

  const std::vector<int64_t> truth_genes = model.truth_genes();
  const bool dense_truth = static_cast<int64_t>(truth_genes.size()) == G && options.n_cells * G <= options.truth_max_entries;
  const int64_t n_truth = static_cast<int64_t>(truth_genes.size());

  // Reserve what the model expects (plus a little), so the big arrays grow at most once.
  const bool sampled = !options.noise_free;
  const double local_entries = static_cast<double>(n) * static_cast<double>(G);
  sim::CsrRowBuilder spliced(n, G, sampled ? static_cast<int64_t>(1.02 * model.expected_spliced_density() * local_entries) + 64 * G : 0);
  sim::CsrRowBuilder unspliced(n, G, sampled ? static_cast<int64_t>(1.02 * model.expected_unspliced_density() * local_entries) + 64 * G : 0);
  DenseArray truth_dense;
  sim::CsrRowBuilder truth_sparse(dense_truth ? 0 : n, G, dense_truth ? 0 : n * n_truth);
  if (dense_truth) truth_dense = DenseArray::zeros({n, G}, DType::f32);
  float* truth_values = dense_truth ? truth_dense.values.data<float>() : nullptr;
  std::vector<int64_t> truth_slot(static_cast<size_t>(G), -1);
  for (int64_t k = 0; k < n_truth; ++k) truth_slot[static_cast<size_t>(truth_genes[static_cast<size_t>(k)])] = k;

  std::vector<double> time(static_cast<size_t>(n)), library(static_cast<size_t>(n));
  std::vector<int32_t> cluster(static_cast<size_t>(n)), lineage(static_cast<size_t>(n));
  DenseArray layout = DenseArray::zeros({n, 2}, DType::f64), layout_velocity = DenseArray::zeros({n, 2}, DType::f64);
  double* xy = layout.values.data<double>();
  double* vxy = layout_velocity.values.data<double>();
  const bool nb = options.noise == "nb";
  // Progress lines only where the loop takes long enough to wait for (~1 s per 10^7 entries).
  const bool report_progress = local_entries >= 5e7;
  const uint64_t seed = options.seed;

  for (int64_t i = 0; i < n; ++i) {
    const int64_t gi = begin + i;
    const sim::CellDraw c = model.cell(gi);
    const size_t si = static_cast<size_t>(i);
    time[si] = c.time;
    library[si] = c.library;
    cluster[si] = c.cluster;
    lineage[si] = c.lineage;
    xy[2 * i] = c.x;
    xy[2 * i + 1] = c.y;
    vxy[2 * i] = c.vx;
    vxy[2 * i + 1] = c.vy;
    const uint64_t key_s = sim::hash_key({seed, static_cast<uint64_t>(sim::Purpose::count_spliced), static_cast<uint64_t>(gi)});
    const uint64_t key_u = sim::hash_key({seed, static_cast<uint64_t>(sim::Purpose::count_unspliced), static_cast<uint64_t>(gi)});
    for (int64_t j = 0; j < G; ++j) {
      const sim::Abundance a = model.abundance(j, c.lineage, c.time);
      const sim::GeneKinetics& g = genes[static_cast<size_t>(j)];
      const double v = sim::spliced_velocity(a, g.beta, g.gamma);
      if (truth_values) {
        truth_values[i * G + j] = static_cast<float>(v);
      } else if (truth_slot[static_cast<size_t>(j)] >= 0) {
        truth_sparse.push(j, static_cast<float>(v));
      }
      if (!sampled) {
        if (a.s != 0) spliced.push(j, static_cast<float>(a.s));
        if (a.u != 0) unspliced.push(j, static_cast<float>(a.u));
        continue;
      }
      // Each (cell, gene, layer) has its own counter stream: draws never depend on order.
      const double mean_s = c.library * a.s, mean_u = c.library * a.u;
      if (mean_s > 0) {
        sim::CounterRng rng(sim::mix64(key_s ^ sim::mix64(static_cast<uint64_t>(j))));
        const int64_t k = nb ? rng.negative_binomial(mean_s, options.nb_theta) : rng.poisson(mean_s);
        if (k > 0) spliced.push(j, static_cast<float>(k));
      }
      if (mean_u > 0) {
        sim::CounterRng rng(sim::mix64(key_u ^ sim::mix64(static_cast<uint64_t>(j))));
        const int64_t k = nb ? rng.negative_binomial(mean_u, options.nb_theta) : rng.poisson(mean_u);
        if (k > 0) unspliced.push(j, static_cast<float>(k));
      }
    }
    spliced.end_row();
    unspliced.end_row();
    if (!dense_truth) truth_sparse.end_row();
    if (report_progress) log().progress("simulate: cells on rank 0", i + 1, n);
  }

  int64_t nnz[3] = {spliced.nnz(), unspliced.nnz(), truth_sparse.nnz()};
  MPI_Allreduce(MPI_IN_PLACE, nnz, 3, MPI_INT64_T, MPI_SUM, comm);
  // The index dtypes in the file must follow global sizes, not this rank's share.
  CsrMatrix s = spliced.finish(nnz[0]);
  d.layers["unspliced"] = unspliced.finish(nnz[1]);
  d.X = s;   // raw-count files carry X = spliced; anndata readers expect an X
  d.layers["spliced"] = std::move(s);
  if (dense_truth) d.layers["true_velocity_S"] = std::move(truth_dense);
  else d.layers["true_velocity_S"] = truth_sparse.finish(nnz[2]);

  d.obs.set("true_time", Column::numeric(Array::from(time)));
  d.obs.set("clusters", categorical_column(cluster, model.cluster_names()));
  d.obs.set("lineage", categorical_column(lineage, model.lineage_names()));
  d.obs.set("true_library_size", Column::numeric(Array::from(library)));

  std::vector<double> alpha_on, beta, gamma, switch_time, onset;
  std::vector<int64_t> gene_lineage;
  std::vector<int32_t> program;
  for (const auto& g : genes) {
    alpha_on.push_back(g.alpha_on);
    beta.push_back(g.beta);
    gamma.push_back(g.gamma);
    switch_time.push_back(g.switch_time);
    onset.push_back(g.onset);
    gene_lineage.push_back(g.lineage);
    program.push_back(static_cast<int32_t>(g.program));
  }
  d.var.set("true_alpha_on", Column::numeric(Array::from(alpha_on)));
  d.var.set("true_beta", Column::numeric(Array::from(beta)));
  d.var.set("true_gamma", Column::numeric(Array::from(gamma)));
  d.var.set("true_switch_time", Column::numeric(Array::from(switch_time)));
  d.var.set("true_onset_time", Column::numeric(Array::from(onset)));
  d.var.set("true_program", categorical_column(program, {sim::program_name(sim::GeneProgram::repression),
                                                         sim::program_name(sim::GeneProgram::induction),
                                                         sim::program_name(sim::GeneProgram::lineage)}));
  d.var.set("true_lineage", Column::numeric(Array::from(gene_lineage)));

  d.obsm["X_true_2d"] = std::move(layout);
  d.obsm["true_velocity_true_2d"] = std::move(layout_velocity);

  const double entries = static_cast<double>(options.n_cells) * static_cast<double>(G);
  const double density_s = static_cast<double>(nnz[0]) / entries, density_u = static_cast<double>(nnz[1]) / entries;
  d.uns["simulation"] = simulation_record(model, truth_genes, dense_truth, density_s, density_u);
  d.source = options.source;
  log().info(cat("simulated ", options.n_cells, " cells x ", G, " genes, ", options.n_lineages, " lineage(s): spliced density ",
                 density_s, " (target ", options.density, "), unspliced density ", density_u, "; true_velocity_S ",
                 dense_truth ? "dense over all genes" : cat("over ", n_truth, " genes (CSR subset)")));
  return d;
}

}  // namespace velofield
