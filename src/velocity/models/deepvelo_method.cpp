// `dynamics --method deepvelo`: dynamo's extvelo(method='deepvelo') on the distributed Dataset. The
// GCN (deepvelo_model.hpp) reads M_u/M_s of all genes (no subsetting, as extvelo) and the cell kNN
// graph the moments stage wrote (obsp/distances); it trains on the cells' row blocks and writes
// velocity_S (dense, raw M_s units), cell_specific_beta and cell_specific_gamma (the raw network
// outputs), use_for_dynamics/use_for_transition = use_for_pca and uns['dynamics'].
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/layer_reader.hpp"
#include "velocity/models/deepvelo_model.hpp"
#include "velocity/models/model_methods.hpp"

namespace velofield {

namespace {

// dynamo passes no keyword arguments to DeepVelo (Constants.default_configs); the keys expose those
// defaults, prefixed because other methods' keys of the same names have other defaults.
std::vector<StageKey> deepvelo_keys() {
  return {
      {"Ms_key", "M_s", "layer of spliced moments"},
      {"Mu_key", "M_u", "layer of unspliced moments"},
      {"seed", "0", "random seed (results do not depend on the rank count)"},
      {"deepvelo_graph", "distances",
       "deepvelo: obsp kNN distance graph (the moments stage's); a cell's nearest neighbours by distance build the GCN graph and the loss's neighbour sets"},
      {"deepvelo_epochs", "100", "deepvelo: full-batch epochs (one Adam step each)"},
      {"deepvelo_lr", "0.001", "deepvelo: Adam (amsgrad) learning rate, decayed by deepvelo_lr_decay per epoch (StepLR)"},
      {"deepvelo_lr_decay", "0.97", "deepvelo: StepLR factor per epoch"},
      {"deepvelo_layers", "64,64", "deepvelo: hidden widths of the GraphConv layers (comma-separated)"},
      {"deepvelo_dropout", "0.2", "deepvelo: dropout after every GraphConv layer, the output included (training only)"},
      {"deepvelo_topG", "20", "deepvelo: graph neighbours per cell, the cell itself included (A = K + Kᵀ)"},
      {"deepvelo_topC", "30", "deepvelo: neighbours of the continuity loss, the cell itself included"},
      {"deepvelo_pearson_scale", "18", "deepvelo: scale of the direction (Pearson) loss's weight"},
      {"deepvelo_coeff_u", "1", "deepvelo: weight of the velocity-unspliced correlation in the direction loss"},
      {"deepvelo_coeff_s", "1", "deepvelo: weight of the velocity-spliced anti-correlation in the direction loss"},
  };
}

std::vector<int64_t> parse_layers(const std::string& text, const std::string& where) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long w = 0;
    try {
      w = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;
    if (used != item.size() || w < 1) throw Error(where + ": expected comma-separated widths >= 1, got '" + text + "'");
    out.push_back(w);
  }
  if (out.empty()) throw Error(where + ": expected at least one hidden width");
  return out;
}

void run_deepvelo(Dataset& d, const StageConfig& sc) {
  models::DeepveloOptions o;
  auto where = [&](const char* key) { return sc.config().where(sc.section(), key); };
  o.seed = static_cast<uint64_t>(sc.get_int("seed"));
  o.epochs = sc.get_int("deepvelo_epochs");
  o.lr = sc.get_double("deepvelo_lr");
  o.lr_decay = sc.get_double("deepvelo_lr_decay");
  o.hidden = parse_layers(sc.get_string("deepvelo_layers"), where("deepvelo_layers"));
  o.dropout = sc.get_double("deepvelo_dropout");
  o.top_g = sc.get_int("deepvelo_topG");
  o.top_c = sc.get_int("deepvelo_topC");
  o.pearson_scale = sc.get_double("deepvelo_pearson_scale");
  o.coeff_u = sc.get_double("deepvelo_coeff_u");
  o.coeff_s = sc.get_double("deepvelo_coeff_s");
  o.source = d.source;
  if (o.epochs < 1) throw Error(where("deepvelo_epochs") + ": expected an integer >= 1");
  if (!(o.lr > 0)) throw Error(where("deepvelo_lr") + ": expected a value > 0");
  if (!(o.lr_decay > 0 && o.lr_decay <= 1)) throw Error(where("deepvelo_lr_decay") + ": expected a value in (0, 1]");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw Error(where("deepvelo_dropout") + ": expected a value in [0, 1)");
  if (o.top_g < 1) throw Error(where("deepvelo_topG") + ": expected an integer >= 1");
  if (o.top_c < 2) throw Error(where("deepvelo_topC") + ": expected an integer >= 2");
  if (!(o.pearson_scale >= 0)) throw Error(where("deepvelo_pearson_scale") + ": expected a value >= 0");
  if (!(o.coeff_u >= 0 && o.coeff_s >= 0 && o.coeff_u + o.coeff_s > 0))
    throw Error(where("deepvelo_coeff_u") + ": coeff_u and coeff_s must be >= 0, not both 0");

  const std::string ms_key = sc.get_string("Ms_key"), mu_key = sc.get_string("Mu_key");
  const std::string graph_key = sc.get_string("deepvelo_graph");
  for (const std::string& key : {ms_key, mu_key})
    if (!d.layers.count(key))
      fail(d.source, "layers/" + key,
           "deepvelo needs the spliced and unspliced moments (Ms_key, Mu_key): layer not present (run the moments stage first)");
  if (!d.obsp.count(graph_key))
    fail(d.source, "obsp/" + graph_key,
         "deepvelo needs the cell kNN distance graph (deepvelo_graph): not present (run the moments stage first)");
  const DistMatrix& graph = d.obsp.at(graph_key);
  if (graph.global_rows() != d.n_obs || graph.global_cols() != d.n_obs)
    fail(d.source, "obsp/" + graph_key, cat("expected ", d.n_obs, " x ", d.n_obs, " (cells x cells), found ", graph.global_rows(),
                                            " x ", graph.global_cols()));

  const int64_t n_local = d.n_obs_local, G = d.n_vars;
  models::DeepveloInput in;
  in.n_cells = d.n_obs;
  in.begin = d.obs_begin;
  in.end = d.obs_begin + n_local;
  in.n_genes = G;
  in.u.resize(static_cast<size_t>(n_local * G));
  in.s.resize(in.u.size());
  {
    std::vector<int64_t> genes(static_cast<size_t>(G));
    for (int64_t g = 0; g < G; ++g) genes[static_cast<size_t>(g)] = g;
    LayerReader s_reader(d.layer(ms_key)), u_reader(d.layer(mu_key));
    std::vector<double> cols(in.u.size());
    ColumnExtremes se, ue;
    s_reader.read_columns(genes.data(), G, cols.data(), &se);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t i = 0; i < n_local; ++i) in.s[static_cast<size_t>(i * G + g)] = static_cast<float>(cols[static_cast<size_t>(g * n_local + i)]);
    u_reader.read_columns(genes.data(), G, cols.data(), &ue);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t i = 0; i < n_local; ++i) in.u[static_cast<size_t>(i * G + g)] = static_cast<float>(cols[static_cast<size_t>(g * n_local + i)]);
    int64_t bad = 0;
    for (int64_t g = 0; g < G; ++g) bad += se.non_finite[static_cast<size_t>(g)] + ue.non_finite[static_cast<size_t>(g)];
    agree(d.comm, bad == 0, d.source + ": layers/" + ms_key + ", layers/" + mu_key + ": NaN or infinite moments");
  }
  graph.local_csr(in.knn_indptr, in.knn_cols, in.knn_distances);
  bool finite = true;
  for (double x : in.knn_distances) finite = finite && std::isfinite(x);
  agree(d.comm, finite, d.source + ": obsp/" + graph_key + ": NaN or infinite distances");
  log().info(cat("dynamics: deepvelo: ", d.n_obs, " cells, ", G, " genes, ", d.ranks(), " ranks; graph obsp/", graph_key));

  const models::DeepveloFit fit = models::fit_deepvelo(d.comm, in, o);

  auto layer_of = [&](const std::vector<float>& values) {
    DenseArray a = DenseArray::zeros({n_local, G}, DType::f32);
    std::copy(values.begin(), values.end(), a.values.data<float>());
    return a;
  };
  d.layers["velocity_S"] = layer_of(fit.velocity);
  d.layers["cell_specific_beta"] = layer_of(fit.beta);
  d.layers["cell_specific_gamma"] = layer_of(fit.gamma);
  // extvelo's deepvelo branch copies use_for_pca (all genes when the column is absent).
  std::vector<uint8_t> used(static_cast<size_t>(G), 1);
  if (d.var.has("use_for_pca")) used = gene_flags(d, "use_for_pca");
  set_gene_flags(d, "use_for_dynamics", used);
  set_gene_flags(d, "use_for_transition", used);
  d.uns["dynamics"] = dynamics_record(record_for(d));
  log().info(cat("dynamics: deepvelo: ", fit.steps, " steps; loss ", fit.loss.front(), " -> ", fit.loss.back(), " (continuity ",
                 fit.mle.back(), ", direction ", fit.direction.back(), ")"));
}

}  // namespace

VelocityMethod deepvelo_velocity_method() {
  return {"deepvelo",
          "DeepVelo (dynamo's extvelo deepvelo): a graph convolutional network on the cell kNN graph predicting cell-specific "
          "β, γ of all genes from M_u/M_s; velocity_S = β·u + γ·s, cell_specific_beta, cell_specific_gamma; trained "
          "full-batch over the cells' row blocks with LibTorch",
          deepvelo_keys(), run_deepvelo};
}

}  // namespace velofield
