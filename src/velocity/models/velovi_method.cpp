// `dynamics --method velovi`: dynamo's extvelo(method='velovi') on the distributed Dataset. The
// moments are min-max scaled per gene and filtered by scVelo's steady-state r² on whole gene columns
// (one MPI_Alltoallv per block of genes, gene_transpose.hpp), then the VAE (velovi_model.hpp) trains
// data-parallel on each rank's rows of the kept genes and summarises its posterior per cell.
// dynamo returns a gene-subset copy; here the outputs cover all genes, zero (layers) or NaN (var)
// for the genes VeloVI did not train, and use_for_dynamics/use_for_transition mark the trained ones.
#include <mpi.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/layer_reader.hpp"
#include "velocity/models/gene_transpose.hpp"
#include "velocity/models/model_methods.hpp"
#include "velocity/models/velovi_genes.hpp"
#include "velocity/models/velovi_model.hpp"

namespace velofield {

namespace {

std::vector<StageKey> velovi_keys() {
  return {
      {"Ms_key", "M_s", "layer of spliced moments"},
      {"Mu_key", "M_u", "layer of unspliced moments"},
      {"seed", "0", "random seed (results do not depend on the rank count)"},
      {"max_epochs", "500", "velovi: training epochs at most (scvi-tools' default)"},
      {"lr", "0.01", "velovi: AdamW learning rate (weight_decay and eps below, as VELOVI.train)"},
      {"weight_decay", "0.01", "velovi: AdamW decoupled weight decay"},
      {"eps", "0.01", "velovi: AdamW epsilon"},
      {"batch_size", "256", "velovi: cells per global minibatch (split over the ranks that own them)"},
      {"train_size", "0.9", "velovi: fraction of cells trained on; the rest is the validation set of early stopping"},
      {"early_stopping_patience", "45", "velovi: epochs without a lower validation ELBO before stopping"},
      {"gradient_clip_val", "10", "velovi: clip of the global gradient L2 norm (0: none)"},
      {"n_hidden", "256", "velovi: hidden units of the encoder and decoder layers"},
      {"n_latent", "10", "velovi: latent dimensions"},
      {"dropout_rate", "0.1", "velovi: encoder dropout"},
      {"n_samples", "25", "velovi: posterior samples averaged for velocity_S and (separately) latent_time_velovi"},
      {"uncertainty_samples", "50",
       "velovi: posterior velocity samples for obs/velocity_uncertainty (variance of their cosine to the mean); 0: not computed"},
      {"velovi_checkpoint", "",
       "velovi: HDF5 training checkpoint written after every epoch; an existing one is resumed from (\"\": none)"},
  };
}

// One row per kept gene: whole-column statistics computed by the gene's owner rank, summed over
// ranks (others contribute zeros) so every rank holds all of them.
std::vector<models::VeloviGeneStats> gene_statistics(const Dataset& d, const std::string& ms_key, const std::string& mu_key) {
  LayerReader s_reader(d.layer(ms_key)), u_reader(d.layer(mu_key));
  const BlockPartition cells = d.partition();
  const int64_t n = d.n_obs, n_local = d.n_obs_local;
  constexpr int64_t kBlock = 512;   // bounds the transposed columns' memory (kBlock / P whole columns)
  constexpr int kFields = 9;
  std::vector<models::VeloviGeneStats> out(static_cast<size_t>(d.n_vars));
  for (int64_t g0 = 0; g0 < d.n_vars; g0 += kBlock) {
    const int64_t nb = std::min(kBlock, d.n_vars - g0);
    std::vector<int64_t> cols(static_cast<size_t>(nb));
    for (int64_t j = 0; j < nb; ++j) cols[static_cast<size_t>(j)] = g0 + j;
    std::vector<double> s_local(static_cast<size_t>(nb * n_local)), u_local(s_local.size());
    ColumnExtremes se, ue;
    s_reader.read_columns(cols.data(), nb, s_local.data(), &se);
    u_reader.read_columns(cols.data(), nb, u_local.data(), &ue);
    int64_t bad = 0;
    for (int64_t j = 0; j < nb; ++j) bad += se.non_finite[static_cast<size_t>(j)] + ue.non_finite[static_cast<size_t>(j)];
    agree(d.comm, bad == 0, d.source + ": layers/" + ms_key + ", layers/" + mu_key + ": NaN or infinite moments");
    const std::vector<float> s_cols = models::cells_to_genes(d.comm, cells, std::vector<float>(s_local.begin(), s_local.end()), nb);
    const std::vector<float> u_cols = models::cells_to_genes(d.comm, cells, std::vector<float>(u_local.begin(), u_local.end()), nb);
    const std::vector<int64_t> mine = models::owned_genes(nb, d.rank(), d.ranks());
    std::vector<double> packed(static_cast<size_t>(kFields * nb), 0);
    for (size_t k = 0; k < mine.size(); ++k) {
      const models::VeloviGeneStats g = models::velovi_gene_stats(s_cols.data() + static_cast<int64_t>(k) * n,
                                                                  u_cols.data() + static_cast<int64_t>(k) * n, n);
      const double f[kFields] = {g.s_scale, g.s_offset, g.u_scale, g.u_offset, g.gamma, g.r2, g.expressed ? 1.0 : 0.0,
                                 g.u_up, g.s_up};
      std::copy(f, f + kFields, packed.begin() + mine[k] * kFields);
    }
    MPI_Allreduce(MPI_IN_PLACE, packed.data(), static_cast<int>(packed.size()), MPI_DOUBLE, MPI_SUM, d.comm);
    for (int64_t j = 0; j < nb; ++j) {
      const double* f = packed.data() + j * kFields;
      models::VeloviGeneStats& g = out[static_cast<size_t>(g0 + j)];
      g = {f[0], f[1], f[2], f[3], f[4], f[5], f[6] > 0, f[7], f[8]};
    }
    log().progress("dynamics: velovi gene filter", g0 + nb, d.n_vars);
  }
  return out;
}

void run_velovi(Dataset& d, const StageConfig& sc) {
  models::VeloviOptions o;
  o.seed = static_cast<uint64_t>(sc.get_int("seed"));
  o.max_epochs = sc.get_int("max_epochs");
  o.learning_rate = sc.get_double("lr");
  o.weight_decay = sc.get_double("weight_decay");
  o.adam_eps = sc.get_double("eps");
  o.batch_size = sc.get_int("batch_size");
  o.train_fraction = sc.get_double("train_size");
  o.patience = sc.get_int("early_stopping_patience");
  o.grad_clip = sc.get_double("gradient_clip_val");
  o.n_hidden = sc.get_int("n_hidden");
  o.n_latent = sc.get_int("n_latent");
  o.dropout = sc.get_double("dropout_rate");
  o.n_samples = sc.get_int("n_samples");
  o.uncertainty_samples = sc.get_int("uncertainty_samples");
  o.checkpoint = sc.get_string("velovi_checkpoint");
  o.source = d.source;
  auto where = [&](const char* key) { return sc.config().where(sc.section(), key); };
  if (o.max_epochs < 1) throw Error(where("max_epochs") + ": expected an integer >= 1");
  if (o.batch_size < 2) throw Error(where("batch_size") + ": expected an integer >= 2 (batch statistics need two cells)");
  if (!(o.train_fraction > 0 && o.train_fraction <= 1)) throw Error(where("train_size") + ": expected a value in (0, 1]");
  if (o.patience < 1) throw Error(where("early_stopping_patience") + ": expected an integer >= 1");
  if (!(o.learning_rate > 0) || !(o.weight_decay >= 0) || !(o.adam_eps > 0) || !(o.grad_clip >= 0))
    throw Error(where("lr") + ": lr and eps must be > 0, weight_decay and gradient_clip_val >= 0");
  if (o.n_hidden < 1 || o.n_latent < 1) throw Error(where("n_hidden") + ": n_hidden and n_latent must be >= 1");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw Error(where("dropout_rate") + ": expected a value in [0, 1)");
  if (o.n_samples < 1 || o.uncertainty_samples < 0)
    throw Error(where("n_samples") + ": n_samples must be >= 1 and uncertainty_samples >= 0");
  // The same rule as the trainer's, checked before the gene filter so the message names the cause.
  const int64_t n_train = static_cast<int64_t>(std::ceil(o.train_fraction * static_cast<double>(d.n_obs)));
  if (n_train < 2)
    fail(d.source, "obs", cat("velovi: ", n_train, " training cells (of ", d.n_obs, "): too few cells for a batch (need at least 2)"));

  const std::string ms_key = sc.get_string("Ms_key"), mu_key = sc.get_string("Mu_key");
  for (const std::string& key : {ms_key, mu_key})
    if (!d.layers.count(key))
      fail(d.source, "layers/" + key, "velovi needs the spliced and unspliced moments (Ms_key, Mu_key): layer not present "
                                      "(run the moments stage first)");
  const std::vector<models::VeloviGeneStats> stats = gene_statistics(d, ms_key, mu_key);
  std::vector<uint8_t> hv;
  if (d.var.has("highly_variable")) hv = gene_flags(d, "highly_variable");
  const std::vector<uint8_t> keep = models::velovi_gene_selection(stats, hv.empty() ? nullptr : &hv);
  std::vector<int64_t> genes;
  for (int64_t g = 0; g < d.n_vars; ++g)
    if (keep[static_cast<size_t>(g)]) genes.push_back(g);
  if (genes.empty())
    fail(d.source, "layers/" + ms_key + ", layers/" + mu_key,
         "velovi: no gene passes scVelo's steady-state filter on the min-max-scaled moments (r² > 0.01, γ > 0.01, "
         "u and s expressed" + std::string(hv.empty() ? "" : ", var/highly_variable") + "): nothing to train");
  const int64_t K = static_cast<int64_t>(genes.size()), n_local = d.n_obs_local;
  log().info(cat("dynamics: velovi: ", K, " of ", d.n_vars, " genes pass the steady-state filter; ", d.n_obs, " cells, ",
                 d.ranks(), " ranks"));

  // This rank's rows of the kept genes, min-max scaled, row-major.
  models::VeloviInput in;
  in.n_cells = d.n_obs;
  in.begin = d.obs_begin;
  in.end = d.obs_begin + n_local;
  in.n_genes = K;
  in.s.resize(static_cast<size_t>(n_local * K));
  in.u.resize(in.s.size());
  {
    LayerReader s_reader(d.layer(ms_key)), u_reader(d.layer(mu_key));
    std::vector<double> s_cols(in.s.size()), u_cols(in.s.size());
    s_reader.read_columns(genes.data(), K, s_cols.data());
    u_reader.read_columns(genes.data(), K, u_cols.data());
    for (int64_t j = 0; j < K; ++j) {
      const models::VeloviGeneStats& g = stats[static_cast<size_t>(genes[static_cast<size_t>(j)])];
      in.u_up.push_back(g.u_up);
      in.s_up.push_back(g.s_up);
      for (int64_t i = 0; i < n_local; ++i) {
        in.s[static_cast<size_t>(i * K + j)] = static_cast<float>(s_cols[static_cast<size_t>(j * n_local + i)] * g.s_scale + g.s_offset);
        in.u[static_cast<size_t>(i * K + j)] = static_cast<float>(u_cols[static_cast<size_t>(j * n_local + i)] * g.u_scale + g.u_offset);
      }
    }
  }
  const models::VeloviFit fit = models::fit_velovi(d.comm, in, o);

  // dynamo's units: scaling_g = 20 / max_i t_ig; velocity_S = v / scaling, rates / scaling,
  // fit_t_ = switch time · scaling (extvelo's velovi branch).
  const size_t G = static_cast<size_t>(d.n_vars);
  DenseArray velocity = DenseArray::zeros({n_local, d.n_vars}, DType::f32);
  DenseArray time = DenseArray::zeros({n_local, d.n_vars}, DType::f32);
  std::vector<double> cell_time(static_cast<size_t>(n_local), 0);
  std::vector<double> fit_alpha(G, std::nan("")), fit_beta(G, std::nan("")), fit_gamma(G, std::nan("")),
      fit_t(G, std::nan("")), fit_scaling(G, std::nan(""));
  std::vector<uint8_t> trained(G, 0);
  for (int64_t j = 0; j < K; ++j) {
    const size_t g = static_cast<size_t>(genes[static_cast<size_t>(j)]), jj = static_cast<size_t>(j);
    const double tmax = fit.max_time[jj];
    const double scaling = 20.0 / tmax;
    fit_alpha[g] = fit.alpha[jj] / scaling;
    fit_beta[g] = fit.beta[jj] / scaling;
    fit_gamma[g] = fit.gamma[jj] / scaling;
    fit_t[g] = fit.switch_time[jj] * scaling;
    fit_scaling[g] = 1.0;
    trained[g] = 1;
    for (int64_t i = 0; i < n_local; ++i) {
      const double v = fit.velocity[static_cast<size_t>(i * K + j)], t = fit.latent_time[static_cast<size_t>(i * K + j)];
      velocity.values.data<float>()[i * d.n_vars + static_cast<int64_t>(g)] = static_cast<float>(tmax > 0 ? v / scaling : 0.0);
      time.values.data<float>()[i * d.n_vars + static_cast<int64_t>(g)] = static_cast<float>(t);
      cell_time[static_cast<size_t>(i)] += tmax > 0 ? t / tmax / static_cast<double>(K) : 0.0;
    }
  }
  d.layers["velocity_S"] = std::move(velocity);
  d.layers["latent_time_velovi"] = std::move(time);
  d.obs.set("velovi_latent_time", Column::numeric(Array::from(cell_time)));
  if (o.uncertainty_samples > 0) d.obs.set("velocity_uncertainty", Column::numeric(Array::from(fit.uncertainty)));
  set_gene_values(d, "fit_alpha", fit_alpha);
  set_gene_values(d, "fit_beta", fit_beta);
  set_gene_values(d, "fit_gamma", fit_gamma);
  set_gene_values(d, "fit_t_", fit_t);
  set_gene_values(d, "fit_scaling", fit_scaling);
  std::vector<double> r2(G), gamma(G);
  for (size_t g = 0; g < G; ++g) {
    r2[g] = stats[g].r2;
    gamma[g] = stats[g].gamma;
  }
  set_gene_values(d, "velovi_r2", r2);
  set_gene_values(d, "velovi_ss_gamma", gamma);
  // extvelo copies use_for_pca on the trained subset: a trained gene is used when it is a PCA gene.
  std::vector<uint8_t> used = trained;
  if (d.var.has("use_for_pca")) {
    const std::vector<uint8_t> pca = gene_flags(d, "use_for_pca");
    for (size_t g = 0; g < G; ++g) used[g] = trained[g] && pca[g];
  }
  set_gene_flags(d, "velovi_trained", trained);
  set_gene_flags(d, "use_for_dynamics", used);
  set_gene_flags(d, "use_for_transition", used);
  d.uns["dynamics"] = dynamics_record(record_for(d));
  log().info(cat("dynamics: velovi: ", fit.epoch_loss.size(), " epochs (", fit.steps, " steps", fit.early_stopped ? ", early stopped" : "",
                 "), last validation ELBO ", fit.epoch_validation.empty() ? std::nan("") : fit.epoch_validation.back()));
}

}  // namespace

VelocityMethod velovi_velocity_method() {
  return {"velovi",
          "VeloVI (dynamo's extvelo velovi): a VAE over scVelo's switching kinetics on min-max-scaled M_s/M_u of the "
          "genes passing the steady-state r² filter; velocity_S, latent_time_velovi, obs velocity_uncertainty; trained "
          "data-parallel with LibTorch",
          velovi_keys(), run_velovi};
}

}  // namespace velofield
