#include "perturbation/perturbation_stage.hpp"
#include "core/gather.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "perturbation/cell_jacobians.hpp"
#include "perturbation/perturbation_projection.hpp"
#include "perturbation/perturbation_targets.hpp"
#include "transition/transition_methods.hpp"
#include "vectorfield/fitted_field.hpp"

namespace velofield {

namespace {

// uns jacobian_<basis> holds d × d × N, replicated on every rank: only for data sets this small.
constexpr int64_t kStoreJacobianLimit = 200000;

std::string option(const StageConfig& sc, const std::string& key) { return sc.config().where(sc.section(), key); }

std::vector<double> numbers(const StageConfig& sc, const std::string& key) {
  std::vector<double> out;
  for (const auto& item : sc.get_list(key)) {
    size_t used = 0;
    double v = std::nan("");
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !std::isfinite(v)) throw Error(option(sc, key) + ": '" + item + "' is not a finite number");
    out.push_back(v);
  }
  return out;
}

struct Settings {
  std::string basis, emb_basis, layer_genes;
  std::vector<std::string> genes;
  std::vector<double> values;
  PerturbMode mode = PerturbMode::raw;
  double delta_t = 1;
  TransitionMatrixOptions projection;
  std::string method;
  bool correct_density = true, store_jacobian = false;
  int64_t grid = 50;
};

Settings read_settings(const StageConfig& sc) {
  Settings s;
  s.basis = sc.get_string("basis");
  s.emb_basis = sc.get_string("emb_basis");
  s.genes = sc.get_list("genes");
  if (s.genes.empty()) throw Error(option(sc, "genes") + ": no gene given (e.g. --genes Gcg,Neurog3)");
  s.values = numbers(sc, "values");
  if (s.values.empty()) throw Error(option(sc, "values") + ": no value given (e.g. --values -100)");
  const std::string mode = sc.get_string("perturb_mode");
  if (mode == "raw") s.mode = PerturbMode::raw;
  else if (mode == "delta") s.mode = PerturbMode::delta;
  else if (mode == "z_score") s.mode = PerturbMode::z_score;
  else throw Error(option(sc, "perturb_mode") + ": expected raw, delta or z_score, found '" + mode + "'");
  s.delta_t = sc.get_double("delta_t");
  if (!std::isfinite(s.delta_t)) throw Error(option(sc, "delta_t") + ": expected a finite number");
  const TransitionMethod& m = transition_method(sc.get_string("projection_method"), "", option(sc, "projection_method"));
  s.method = m.name;
  s.projection.measure = m.measure;
  s.projection.transform = similarity_transform(sc.get_string("transform"), "", option(sc, "transform"));
  s.projection.graph = sc.get_string("graph");
  s.projection.n_neighbors = sc.get_int("n_neighbors");
  if (s.projection.n_neighbors < 2) throw Error(option(sc, "n_neighbors") + ": expected at least 2 (the cell and one neighbour)");
  const long long hops = sc.get_int("n_recurse_neighbors");
  if (hops != 1 && hops != 2) throw Error(option(sc, "n_recurse_neighbors") + ": expected 1 or 2");
  s.projection.hops = static_cast<int>(hops);
  s.correct_density = sc.get_bool("correct_density");
  s.grid = sc.get_int("xy_grid_nums");
  if (s.grid < 2) throw Error(option(sc, "xy_grid_nums") + ": expected at least 2 grid points per axis");
  s.store_jacobian = sc.get_bool("store_jacobian");
  s.layer_genes = sc.get_string("layer_genes");
  if (s.layer_genes != "pca" && s.layer_genes != "perturbed" && s.layer_genes != "none")
    throw Error(option(sc, "layer_genes") + ": expected pca, perturbed or none, found '" + s.layer_genes + "'");
  return s;
}

DenseArray dense(std::vector<int64_t> shape, const std::vector<double>& values) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(values);
  return a;
}

// layers j_delta_x_perturbation: δy · PCsᵀ on the chosen gene columns (float32 CSR, dynamo's
// layout: N × genes, dense on the PCA genes; no mean term, it is a velocity).
CsrMatrix gene_space_layer(const Dataset& d, const std::vector<int64_t>& columns, const std::vector<double>& loadings, int64_t D,
                           const std::vector<double>& dy) {
  const int64_t n = d.n_obs_local, G = static_cast<int64_t>(columns.size());
  CsrMatrix m;
  m.rows = n;
  m.cols = d.n_vars;
  m.indptr.resize(static_cast<size_t>(n + 1));
  m.indices = Array(index_dtype_for(d.n_vars), static_cast<size_t>(n * G));
  m.data = Array(DType::f32, static_cast<size_t>(n * G));
  m.file_indices_dtype = m.indices.dtype();
  m.file_indptr_dtype = index_dtype_for(n * G);
  float* values = m.data.data<float>();
  for (int64_t i = 0; i <= n; ++i) m.indptr[static_cast<size_t>(i)] = i * G;
  for (int64_t g = 0; g < G; ++g) {
    if (m.indices.dtype() == DType::i32) {
      for (int64_t i = 0; i < n; ++i) m.indices.data<int32_t>()[i * G + g] = static_cast<int32_t>(columns[static_cast<size_t>(g)]);
    } else {
      for (int64_t i = 0; i < n; ++i) m.indices.data<int64_t>()[i * G + g] = columns[static_cast<size_t>(g)];
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t g = 0; g < G; ++g) {
      double s = 0;
      for (int64_t q = 0; q < D; ++q) s += dy[static_cast<size_t>(i * D + q)] * loadings[static_cast<size_t>(g * D + q)];
      values[i * G + g] = static_cast<float>(s);
    }
  return m;
}

void run_perturbation(Dataset& d, const StageConfig& sc) {
  const Settings s = read_settings(sc);
  FittedField field;
  PerturbationTargets targets;
  std::vector<double> x;
  const DenseArray* embedding = nullptr;
  const std::string x_key = "X_" + s.basis, emb_key = "X_" + s.emb_basis;
  agree_on(d.comm, [&] {
    field = fitted_field(d, s.basis);
    const DenseArray& xa = d.obsm_dense(x_key);
    if (xa.shape.size() != 2 || xa.row_stride() != field.dim)
      fail(d.source, "obsm/" + x_key, "has " + std::to_string(xa.row_stride()) + " columns but uns/VecFld_" + s.basis + " is a " +
                                          std::to_string(field.dim) + "-D field");
    x = xa.values.to_double();
    for (size_t k = 0; k < x.size(); ++k)
      if (!std::isfinite(x[k]))
        fail(d.source, "obsm/" + x_key, "cell " + std::to_string(d.obs_begin + static_cast<int64_t>(k) / field.dim) + " has a non-finite coordinate");
    targets = perturbation_targets(d, s.genes, s.values, field.dim, option(sc, "genes"));
    embedding = &d.obsm_dense(emb_key);
    if (embedding->shape.size() != 2 || embedding->row_stride() < 1) fail(d.source, "obsm/" + emb_key, "expected a cells × dimensions array");
    for (size_t k = 0; k < embedding->values.size(); ++k)
      if (!std::isfinite(embedding->values.as_double(k)))
        fail(d.source, "obsm/" + emb_key, "cell " + std::to_string(d.obs_begin + static_cast<int64_t>(k) / embedding->row_stride()) +
                                              " has a non-finite coordinate; the projection needs finite positions");
    if (!d.obsp.count(s.projection.graph))
      fail(d.source, "obsp/" + s.projection.graph, "not present: the projection needs the kNN graph (run the moments stage, or name another with --graph)");
  });
  const int64_t D = field.dim, n = d.n_obs_local;
  if (s.store_jacobian && d.n_obs > kStoreJacobianLimit)
    throw Error(option(sc, "store_jacobian") + ": uns/jacobian_" + s.basis + " would hold " + std::to_string(D) + " × " + std::to_string(D) +
                " × " + std::to_string(d.n_obs) + " values on every rank; it is limited to " + std::to_string(kStoreJacobianLimit) + " cells");
  std::string listed;
  for (size_t g = 0; g < targets.genes.size(); ++g) listed += cat(g ? ", " : "", targets.genes[g], " → ", targets.values[g]);
  log().info(cat("perturbation: ", listed, " (", sc.get_string("perturb_mode"), "), through the ", D, "-D field uns/VecFld_", s.basis));

  // δx, then J(x_i) chunk by chunk: δy = J δx Δt and det J; the Jacobians are dropped per chunk
  // unless store_jacobian asks for dynamo's uns jacobian_<basis>.
  StageTimer jt(d.comm, "perturbation: jacobians");
  const std::vector<double> dx = perturbation_delta_x(d.comm, targets, s.mode, n, x.data(), d.n_obs);
  std::vector<double> dy(static_cast<size_t>(n * D), 0.0), det(static_cast<size_t>(n)), kept;
  if (s.store_jacobian) kept.resize(static_cast<size_t>(n * D * D));
  for_each_jacobian_chunk(field, n, x.data(), [&](int64_t b, int64_t rows, const double* J) {
    for (int64_t i = 0; i < rows; ++i) {
      const double* Ji = J + i * D * D;
      const double* v = dx.data() + (b + i) * D;
      for (int64_t p = 0; p < D; ++p) {
        double acc = 0;
        for (int64_t q = 0; q < D; ++q) acc += Ji[p * D + q] * v[q];
        dy[static_cast<size_t>((b + i) * D + p)] = acc * s.delta_t;
      }
      det[static_cast<size_t>(b + i)] = determinant(D, Ji);
      if (s.store_jacobian) std::copy(Ji, Ji + D * D, kept.begin() + (b + i) * D * D);
    }
    log().progress("perturbation: Jacobians", b + rows, n);
  });
  jt.stop(d.n_obs, d.n_vars);

  d.obsm["j_delta_x_perturbation"] = dense({n, D}, dy);
  d.obs.set("jacobian_det_" + s.basis, Column::numeric(Array::from(det)));
  if (s.layer_genes != "none") {
    std::vector<int64_t> columns;
    std::vector<double> loadings;
    if (s.layer_genes == "perturbed") {
      columns = targets.var_index;
      loadings = targets.loadings;
    } else {
      const std::vector<double> use = d.var.columns.at("use_for_pca").values.to_double();
      const DenseArray& pcs = d.uns.at("PCs").array;
      const std::vector<double> all = pcs.values.to_double();
      int64_t row = 0;
      for (size_t g = 0; g < use.size(); ++g)
        if (use[g] != 0) {
          columns.push_back(static_cast<int64_t>(g));
          loadings.insert(loadings.end(), all.begin() + row * pcs.shape[1], all.begin() + row * pcs.shape[1] + D);
          ++row;
        }
    }
    d.layers["j_delta_x_perturbation"] = gene_space_layer(d, columns, loadings, D, dy);
  }
  if (s.store_jacobian) {
    // dynamo's layout: jacobian[p, q, cell].
    const std::vector<double> all = gather_concat(d.comm, kept);
    std::vector<double> tensor(all.size());
    const int64_t N = d.n_obs;
    for (int64_t c = 0; c < N; ++c)
      for (int64_t e = 0; e < D * D; ++e) tensor[static_cast<size_t>(e * N + c)] = all[static_cast<size_t>(c * D * D + e)];
    UnsNode j = UnsNode::dict();
    j["jacobian"] = UnsNode::numeric(dense({D, D, N}, tensor));
    std::vector<int64_t> cells(static_cast<size_t>(N));
    for (int64_t c = 0; c < N; ++c) cells[static_cast<size_t>(c)] = c;
    DenseArray idx;
    idx.shape = {N};
    idx.values = Array::from(cells);
    j["cell_idx"] = UnsNode::numeric(std::move(idx));
    d.uns["jacobian_" + s.basis] = j;
  }

  StageTimer pt(d.comm, "perturbation: projection " + s.emb_basis);
  PerturbationProjection proj = project_perturbation(d, x, dy, D, *embedding, s.projection, s.correct_density, s.grid);
  pt.stop(d.n_obs, d.n_vars);
  const std::string suffix = s.emb_basis + "_perturbation";
  d.obsm["X_" + suffix] = *embedding;
  d.obsm["velocity_" + suffix] = std::move(proj.velocity);
  if (!proj.grid.children.empty()) d.uns["grid_velocity_" + suffix] = std::move(proj.grid);
  d.obsp["perturbation_transition_matrix"] = std::move(proj.transition);
  UnsNode record = UnsNode::dict();
  record["genes"] = UnsNode::string_array(targets.genes);
  record["values"] = UnsNode::numeric(dense({static_cast<int64_t>(targets.values.size())}, targets.values));
  record["perturb_mode"] = UnsNode::string(sc.get_string("perturb_mode"));
  record["projection_method"] = UnsNode::string(s.method);
  record["basis"] = UnsNode::string(s.basis);
  record["emb_basis"] = UnsNode::string(s.emb_basis);
  d.uns["perturbation"] = record;
  log().info(cat("perturbation: obsm/j_delta_x_perturbation, obs/jacobian_det_", s.basis, ", obsm/velocity_", suffix,
                 " (", s.method, " kernel over ", s.projection.hops == 2 ? "two-hop" : "one-hop", " kNN neighbourhoods of obsp/",
                 s.projection.graph, "), obsp/perturbation_transition_matrix"));
}

}  // namespace

Stage perturbation_stage() {
  Stage s;
  s.name = "perturbation";
  s.summary =
      "In-silico perturbation (dyn.pd.perturbation): genes set to values (log expression) → δx in PCA → δy = J(x)·δx with the "
      "analytic Jacobian of uns VecFld_<basis> per cell → obsm/layers j_delta_x_perturbation, obs jacobian_det_<basis>, and "
      "the response projected onto X_<emb_basis> with a sparse kNN-bounded transition kernel: obsm velocity_<emb_basis>_perturbation, "
      "X_<emb_basis>_perturbation, uns grid_velocity_<emb_basis>_perturbation, obsp perturbation_transition_matrix.";
  s.keys = {
      {"genes", "", "genes to perturb, comma-separated var names (each must be a use_for_pca gene)"},
      {"values", "-100", "one value for all genes, or one per gene (in the order of genes)"},
      {"perturb_mode", "raw", "raw: the value is the target log expression (dynamo's default); delta: a change of it; "
                              "z_score: a z-score of the reconstructed expression over all cells"},
      {"basis", "pca", "the field: uns VecFld_<basis> fitted on obsm X_<basis> (PCA, so that uns PCs maps genes to it)"},
      {"emb_basis", "umap", "embedding the response is projected onto: obsm X_<emb_basis>"},
      {"delta_t", "1", "time step: δy = J δx · delta_t"},
      {"projection_method", "pearson", "projection kernel: " + transition_method_names() +
                                           " (dynamo's default 'fp' builds dense cells × cells arrays; not offered)"},
      {"transform", "sqrt", "elementwise transform of δy and the PCA displacements in the kernel: " + similarity_transform_names()},
      {"n_neighbors", "30", "kNN per cell, the cell itself included (the rows of obsp/<graph>)"},
      {"n_recurse_neighbors", "2", "neighbourhood: 1 = the kNN, 2 = the kNN and theirs"},
      {"graph", "distances", "obsp key of the directed kNN distances"},
      {"correct_density", "true", "centre the weights of each row when projecting (dynamo's correct_density)"},
      {"xy_grid_nums", "50", "grid points per axis of uns grid_velocity_<emb_basis>_perturbation"},
      {"layer_genes", "pca", "genes of layers j_delta_x_perturbation: pca (every use_for_pca gene, dynamo), perturbed, none"},
      {"store_jacobian", "false", "also store every cell's Jacobian in uns jacobian_<basis> (d × d × cells, replicated; "
                                  "at most 200,000 cells)"},
  };
  s.run = run_perturbation;
  return s;
}

}  // namespace velofield
