#include "compare/method_runs.hpp"

#include "core/error.hpp"
#include "transition/transition_genes.hpp"

namespace velofield {

namespace {

bool is_transition_matrix(const std::string& key) {
  const std::string tail = "_transition_matrix";
  return key.size() > tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
}

// The copy's shape and the slots every step reads; layers are chosen by the caller.
Dataset shell_of(const Dataset& d) {
  Dataset w;
  w.comm = d.comm;
  w.n_obs = d.n_obs;
  w.n_vars = d.n_vars;
  w.obs_begin = d.obs_begin;
  w.n_obs_local = d.n_obs_local;
  w.source = d.source;
  w.obs = d.obs;
  w.var = d.var;
  w.obsm = d.obsm;
  w.varm = d.varm;
  w.varp = d.varp;
  w.uns = d.uns;
  return w;
}

// Lends the graphs of `from` (not its transition matrices, which belong to its own velocity) to
// `to` for the guard's lifetime; they go back even when the method throws.
class LentGraphs {
 public:
  LentGraphs(Dataset& from, Dataset& to) : from_(from), to_(to) {
    for (auto& kv : from_.obsp)
      if (!is_transition_matrix(kv.first)) keys_.push_back(kv.first);
    for (const auto& k : keys_) to_.obsp[k] = std::move(from_.obsp.at(k));
  }
  ~LentGraphs() {
    for (const auto& k : keys_) {
      auto it = to_.obsp.find(k);
      if (it != to_.obsp.end()) from_.obsp[k] = std::move(it->second);
    }
  }
  LentGraphs(const LentGraphs&) = delete;
  LentGraphs& operator=(const LentGraphs&) = delete;

 private:
  Dataset& from_;
  Dataset& to_;
  std::vector<std::string> keys_;
};

}  // namespace

MethodVelocity run_velocity_method(Dataset& d, const VelocityMethod& method, const StageConfig& dynamics) {
  Dataset w = shell_of(d);
  w.X = d.X;
  for (const auto& kv : d.layers)
    if (kv.first.rfind("velocity_S", 0) != 0) w.layers.emplace(kv.first, kv.second);
  LentGraphs lent(d, w);
  method.run(w, dynamics);
  auto it = w.layers.find("velocity_S");
  std::string problem;
  if (it == w.layers.end()) problem = "method '" + method.name + "' wrote no layers/velocity_S";
  else if (matrix_cols(it->second) != d.n_vars || matrix_rows(it->second) != d.n_obs_local)
    problem = "method '" + method.name + "' wrote a layers/velocity_S of " + std::to_string(matrix_cols(it->second)) +
              " genes; the comparison needs one column per gene of the input (" + std::to_string(d.n_vars) + ")";
  agree(d.comm, problem.empty(), describe(d.source, "layers/velocity_S_" + method.name, problem));
  MethodVelocity out;
  out.velocity = std::move(it->second);
  out.transition_genes.assign(static_cast<size_t>(d.n_vars), 0);
  for (int64_t g : transition_genes(w).genes) out.transition_genes[static_cast<size_t>(g)] = 1;
  return out;
}

ProjectedVelocity project_velocity(Dataset& d, const Matrix& velocity, const std::vector<uint8_t>& genes,
                                   const std::vector<std::string>& bases, const Config& config) {
  const Stage* stage = find_stage("cell-velocities");
  if (!stage) throw Error("internal: the cell-velocities stage is not registered");
  Config c = config;
  std::string joined;
  for (const auto& b : bases) joined += (joined.empty() ? "" : ", ") + b;
  c.set("cell-velocities", "bases", joined);
  c.set("cell-velocities", "enforce", "true");
  c.set("cell-velocities", "vkey", "velocity_S");
  const StageConfig sc(c, "cell-velocities", stage->keys);
  Dataset w = shell_of(d);
  const std::string ekey = sc.get_string("ekey");
  w.layers.emplace(ekey, d.layer(ekey));
  w.layers.emplace("velocity_S", velocity);
  std::vector<int64_t> chosen;
  for (size_t g = 0; g < genes.size(); ++g)
    if (genes[g]) chosen.push_back(static_cast<int64_t>(g));
  store_transition_genes(w, chosen);
  for (const auto& b : bases) w.uns.children.erase("grid_velocity_" + b);
  {
    LentGraphs lent(d, w);
    stage->run(w, sc);
  }
  ProjectedVelocity p;
  for (const auto& b : bases) {
    p.velocities.push_back(std::get<DenseArray>(w.obsm.at("velocity_" + b)));
    auto g = w.uns.children.find("grid_velocity_" + b);
    p.grids.push_back(g == w.uns.children.end() ? UnsNode::dict() : g->second);
  }
  return p;
}

}  // namespace velofield
