#include "velocity/steady_state_methods.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/steady_state_fit.hpp"
#include "velocity/steady_state_velocity.hpp"
#include "velocity/transition_genes.hpp"

namespace velofield {

namespace {

// dynamo's vel_params columns (varm['vel_params'], uns['vel_params_names']).
const std::vector<std::string>& vel_params_names() {
  static const std::vector<std::string> names{"beta",     "gamma", "half_life", "alpha_b", "alpha_r2", "gamma_b", "gamma_r2",
                                              "gamma_logLL", "delta_b", "delta_r2", "bs",  "bf",       "uu0",     "ul0",
                                              "su0",      "sl0",   "U0",        "S0",      "total0"};
  return names;
}

std::vector<StageKey> steady_state_keys() {
  return {
      {"perc_right", "5",
       "upper tail of extreme cells, in percent: a gene is fitted on the cells whose score s/max(s) + u/max(u) is at or "
       "above its (100 - perc_right)th percentile (numpy's 'linear' percentile, exact over all ranks); 'none': no upper tail"},
      {"perc_left", "none", "lower tail of extreme cells, in percent (score at or below the perc_left-th percentile); 'none': no lower tail"},
      {"min_gamma", "0.01", "use_for_transition: genes with gamma above this (and gamma_r2 above min_r2)"},
      {"min_r2", "0.01", "use_for_transition: genes with gamma_r2 above this (and gamma above min_gamma)"},
      {"del_2nd_moments", "false", "remove the second-moment layers M_ss, M_us, M_uu after fitting (saves memory)"},
  };
}

std::optional<double> percent_key(const StageConfig& sc, const std::string& key, bool upper) {
  const std::string v = sc.get_string(key);
  if (v.empty() || v == "none" || v == "None") return std::nullopt;
  const double p = sc.get_double(key);
  const bool ok = upper ? (p > 0 && p <= 100) : (p >= 0 && p < 100);
  if (!ok)
    throw Error(sc.config().where(sc.section(), key) + ": expected a percentage in " + (upper ? "(0, 100]" : "[0, 100)") +
                " or 'none', found '" + v + "'");
  return p;
}

void run_steady_state(Dataset& d, const StageConfig& sc, bool stochastic) {
  const std::string model = stochastic ? "stochastic" : "deterministic";
  SteadyStateOptions o;
  o.stochastic = stochastic;
  o.perc_right = percent_key(sc, "perc_right", true);
  o.perc_left = percent_key(sc, "perc_left", false);
  if (!o.perc_left && !o.perc_right)
    throw Error(sc.config().where(sc.section(), "perc_right") + ": perc_left and perc_right are both 'none': no extreme cells to fit on");
  const double min_gamma = sc.get_double("min_gamma"), min_r2 = sc.get_double("min_r2");
  if (d.n_obs == 0) fail(d.source, "obs", "no cells to fit velocities on");

  // dynamo's filter_gene_mode 'final': the genes selected for PCA.
  std::vector<uint8_t> use_for_dynamics(static_cast<size_t>(d.n_vars), 1);
  if (d.var.has("use_for_pca")) use_for_dynamics = gene_flags(d, "use_for_pca");
  else log().warn("dynamics: var/use_for_pca is absent: fitting every gene (" + std::to_string(d.n_vars) + ")");
  std::vector<int64_t> genes;
  for (int64_t g = 0; g < d.n_vars; ++g)
    if (use_for_dynamics[static_cast<size_t>(g)]) genes.push_back(g);
  if (genes.empty()) fail(d.source, d.var.has("use_for_pca") ? "var/use_for_pca" : "var", "no gene to fit velocities on");

  const SteadyStateFit fit = fit_steady_state(d, genes, o);

  const size_t G = static_cast<size_t>(d.n_vars);
  const double nan = std::nan("");
  std::vector<double> beta(G, nan), gamma(G, nan), r2(G, nan), loglik(G, nan);
  int64_t undefined = 0;
  for (size_t k = 0; k < genes.size(); ++k) {
    const size_t g = static_cast<size_t>(genes[k]);
    beta[g] = 1;
    gamma[g] = fit.gamma[k];
    r2[g] = fit.gamma_r2[k];
    loglik[g] = fit.gamma_logLL[k];
    undefined += std::isnan(fit.gamma[k]);
  }
  std::string note;
  const std::vector<uint8_t> use_for_transition = transition_genes(gamma, r2, use_for_dynamics, min_gamma, min_r2, &note);
  if (!note.empty()) log().warn("dynamics: " + note);

  if (sc.get_bool("del_2nd_moments"))
    for (const char* layer : {"M_ss", "M_us", "M_uu"}) d.layers.erase(layer);

  const Matrix& m_s = d.layer(o.m_s);
  const DType s_dtype = std::holds_alternative<CsrMatrix>(m_s) ? std::get<CsrMatrix>(m_s).data.dtype()
                                                                : std::get<DenseArray>(m_s).values.dtype();
  // Stored at the moments' precision (float32 moments give a float32 velocity), like dynamo's
  // layers, which follow their inputs' dtype.
  const DType v_dtype = s_dtype == DType::f32 ? DType::f32 : DType::f64;
  d.layers["velocity_S"] = steady_state_velocity(m_s, d.layer(o.m_u), genes, fit.gamma, d.n_vars, v_dtype);

  set_gene_values(d, "beta", beta);
  set_gene_values(d, "gamma", gamma);
  set_gene_values(d, "gamma_r2", r2);
  set_gene_flags(d, "use_for_dynamics", use_for_dynamics);
  set_gene_flags(d, "use_for_transition", use_for_transition);
  const auto& names = vel_params_names();
  DenseArray params = DenseArray::zeros({d.n_vars, static_cast<int64_t>(names.size())});
  double* p = params.values.data<double>();
  std::fill(p, p + params.elements(), nan);
  for (int64_t g = 0; g < d.n_vars; ++g) {
    if (!use_for_dynamics[static_cast<size_t>(g)]) continue;
    double* row = p + g * static_cast<int64_t>(names.size());
    row[0] = beta[static_cast<size_t>(g)];
    row[1] = gamma[static_cast<size_t>(g)];
    row[2] = std::log(2.0) / gamma[static_cast<size_t>(g)];
    row[5] = 0;   // gamma_b: no intercept
    row[6] = r2[static_cast<size_t>(g)];
    row[7] = loglik[static_cast<size_t>(g)];
  }
  d.varm["vel_params"] = std::move(params);
  d.uns["vel_params_names"] = UnsNode::string_array(names);
  DynamicsRecord record = record_for(d);
  record.model = model;
  record.est_method = stochastic ? "gmm" : "ols";
  d.uns["dynamics"] = dynamics_record(record);

  int64_t transition = 0;
  for (uint8_t f : use_for_transition) transition += f;
  int64_t fewest = d.n_obs, most = 0;
  for (int64_t c : fit.extreme_cells) {
    fewest = std::min(fewest, c);
    most = std::max(most, c);
  }
  log().info("dynamics: " + model + " (" + record.est_method + ") fitted " + std::to_string(genes.size()) + " genes on " +
             (genes.empty() ? std::string("no") : std::to_string(fewest) + "-" + std::to_string(most)) + " extreme cells each; " +
             std::to_string(undefined) + " without signal on them (gamma NaN); " + std::to_string(transition) +
             " genes for transition (gamma > " + sc.get_string("min_gamma") + ", gamma_r2 > " + sc.get_string("min_r2") + ")");
}

}  // namespace

VelocityMethod stochastic_velocity_method() {
  return {"stochastic",
          "dynamo's default: gamma by the generalised method of moments over the first- and second-moment equations "
          "on each gene's extreme cells (needs layers M_s, M_u, M_ss, M_us)",
          steady_state_keys(), [](Dataset& d, const StageConfig& sc) { run_steady_state(d, sc, true); }};
}

VelocityMethod deterministic_velocity_method() {
  return {"deterministic", "steady-state OLS of M_u on M_s over each gene's extreme cells (needs layers M_s, M_u)",
          steady_state_keys(), [](Dataset& d, const StageConfig& sc) { run_steady_state(d, sc, false); }};
}

}  // namespace velofield
