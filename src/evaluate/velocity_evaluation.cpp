#include "evaluate/velocity_evaluation.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"
#include "evaluate/neighbor_lists.hpp"
#include "evaluate/transitions.hpp"
#include "evaluate/velocity_rows.hpp"

namespace velofield {

namespace {

std::string slot_keys(const std::map<std::string, Matrix>& m) {
  std::string out;
  for (const auto& kv : m) out += (out.empty() ? "" : ", ") + kv.first;
  return out.empty() ? "none" : out;
}

// Per-cell cosine between two row sources with the same columns. When `truth` is a CSR layer it
// covers only the columns it stores (the simulator's gene subset for huge N).
CosineReport cosine_scores(const Dataset& d, const Matrix& estimate, const Matrix& truth, const std::string& estimate_path,
                           const std::string& truth_path) {
  CosineReport r;
  r.estimate = estimate_path;
  r.truth = truth_path;
  const RowReader est(estimate), tru(truth);
  const int64_t cols = est.cols();
  std::vector<double> e(static_cast<size_t>(cols)), t(static_cast<size_t>(cols));
  std::vector<int64_t> stored;
  std::vector<uint8_t> nonfinite(static_cast<size_t>(cols), 0);
  std::vector<uint8_t> covered(static_cast<size_t>(cols), tru.sparse() ? 0 : 1);
  std::vector<double> scores;
  scores.reserve(static_cast<size_t>(d.n_obs_local));
  int64_t without_truth = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    est.read(i, e.data());
    tru.read(i, t.data());
    for (int64_t j = 0; j < cols; ++j)
      if (!std::isfinite(e[static_cast<size_t>(j)])) nonfinite[static_cast<size_t>(j)] = 1;
    CosineParts p;
    if (tru.sparse()) {
      tru.stored_columns(i, stored);
      for (int64_t j : stored) {
        covered[static_cast<size_t>(j)] = 1;
        p.add(e[static_cast<size_t>(j)], t[static_cast<size_t>(j)]);
      }
    } else {
      for (int64_t j = 0; j < cols; ++j) p.add(e[static_cast<size_t>(j)], t[static_cast<size_t>(j)]);
    }
    if (!(p.norm_b > 0)) {
      ++without_truth;
      continue;
    }
    scores.push_back(p.cosine());
  }
  r.summary = summarize_scores(scores, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, &without_truth, 1, MPI_INT64_T, MPI_SUM, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, nonfinite.data(), static_cast<int>(cols), MPI_UINT8_T, MPI_MAX, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, covered.data(), static_cast<int>(cols), MPI_UINT8_T, MPI_MAX, d.comm);
  r.cells_without_truth = without_truth;
  r.nonfinite_columns = std::count(nonfinite.begin(), nonfinite.end(), 1);
  r.values_per_cell = std::count(covered.begin(), covered.end(), 1);
  return r;
}

void require_same_shape(const Dataset& d, const Matrix& a, const Matrix& b, const std::string& a_path, const std::string& b_path) {
  if (matrix_cols(a) != matrix_cols(b))
    fail(d.source, b_path,
         "has " + std::to_string(matrix_cols(b)) + " columns but " + a_path + " has " + std::to_string(matrix_cols(a)));
}

const DenseArray* find_dense_obsm(const Dataset& d, const std::string& key) {
  auto it = d.obsm.find(key);
  if (it == d.obsm.end()) return nullptr;
  if (!std::holds_alternative<DenseArray>(it->second)) fail(d.source, "obsm/" + key, "expected a dense array, found a sparse one");
  return &std::get<DenseArray>(it->second);
}

void require_finite(const Dataset& d, const DenseArray& a, const std::string& path) {
  std::string problem;
  for (size_t k = 0; k < a.values.size() && problem.empty(); ++k)
    if (!std::isfinite(a.values.as_double(k)))
      problem = describe(d.source, path,
                         "cell " + std::to_string(d.obs_begin + static_cast<int64_t>(k) / std::max<int64_t>(1, a.row_stride())) +
                             " has a non-finite coordinate (nearest neighbours need finite positions)");
  agree(d.comm, problem.empty(), problem);
}

}  // namespace

EvaluationReport evaluate_velocity(const Dataset& d, const EvaluateOptions& options) {
  EvaluationReport report;
  report.file = d.source;
  report.n_obs = d.n_obs;
  report.n_vars = d.n_vars;
  report.options = options;
  const std::string& file = d.source;

  // 1. Gene space: the estimate against the stored truth.
  const Matrix& velocity = d.layer(options.velocity);
  const std::string velocity_path = "layers/" + options.velocity;
  if (!options.truth.empty() && (d.layers.count(options.truth) || options.truth_required)) {
    const Matrix& truth = d.layer(options.truth);
    require_same_shape(d, velocity, truth, velocity_path, "layers/" + options.truth);
    report.gene_cosine = cosine_scores(d, velocity, truth, velocity_path, "layers/" + options.truth);
  } else if (!options.truth.empty()) {
    report.notes.push_back("gene-space cosine skipped: no layers/" + options.truth + " (layers: " + slot_keys(d.layers) + ")");
  }

  // 2. Embedding: velocity_<basis> against its truth, where both exist.
  const std::string emb_velocity = options.embedding_velocity.empty() && !options.basis.empty() ? "velocity_" + options.basis
                                                                                                   : options.embedding_velocity;
  const std::string emb_truth = options.embedding_truth.empty() && !options.basis.empty() ? "true_velocity_" + options.basis
                                                                                             : options.embedding_truth;
  const DenseArray* emb_v = emb_velocity.empty() ? nullptr : find_dense_obsm(d, emb_velocity);
  const DenseArray* emb_t = emb_truth.empty() ? nullptr : find_dense_obsm(d, emb_truth);
  if (emb_v && emb_t) {
    if (emb_v->row_stride() != emb_t->row_stride())
      fail(file, "obsm/" + emb_truth, "has " + std::to_string(emb_t->row_stride()) + " columns but obsm/" + emb_velocity + " has " +
                                          std::to_string(emb_v->row_stride()));
    report.embedding_cosine = cosine_scores(d, Matrix(*emb_v), Matrix(*emb_t), "obsm/" + emb_velocity, "obsm/" + emb_truth);
  } else if (!emb_velocity.empty()) {
    report.notes.push_back("embedding cosine skipped: needs obsm/" + emb_velocity + " and obsm/" + emb_truth +
                           " (obsm: " + slot_keys(d.obsm) + ")");
  }

  // 3. Cluster transitions: CBDir and ICCoh.
  std::string transitions = options.transitions;
  report.transitions_origin = "--transitions";
  const bool asked = !transitions.empty();
  if (!asked && d.uns.contains("simulation/transitions") && d.uns.at("simulation/transitions").kind == UnsNode::Kind::string) {
    transitions = d.uns.at("simulation/transitions").text;
    report.transitions_origin = "uns/simulation/transitions";
  }
  if (transitions.empty()) {
    report.notes.push_back("CBDir and ICCoh skipped: no --transitions given");
    return report;
  }
  report.transitions_text = transitions;
  // Without an explicit request, a missing prerequisite is a note, not an error.
  auto missing = [&](const std::string& key, const std::string& problem) {
    if (asked) fail(file, key, problem);
    report.notes.push_back("CBDir and ICCoh skipped: " + key + ": " + problem);
  };
  const std::string cluster_path = "obs/" + options.cluster_key;
  if (!d.obs.has(options.cluster_key)) {
    missing(cluster_path, "no such obs column (needed for --transitions)");
    return report;
  }
  const Column& clusters = d.obs.columns.at(options.cluster_key);
  if (clusters.kind != Column::Kind::categorical || clusters.categories_numeric) {
    missing(cluster_path, "expected a categorical column of cluster names");
    return report;
  }
  const auto pairs = parse_transitions(transitions, report.transitions_origin);
  std::vector<std::pair<int32_t, int32_t>> codes_of_pairs;
  std::vector<std::string> pair_names;
  auto code_of = [&](const std::string& name) -> int32_t {
    const auto it = std::find(clusters.categories.begin(), clusters.categories.end(), name);
    if (it == clusters.categories.end()) {
      std::string known;
      for (const auto& c : clusters.categories) known += (known.empty() ? "" : ", ") + c;
      fail(file, report.transitions_origin, "no cluster '" + name + "' in " + cluster_path + " (clusters: " + known + ")");
    }
    return static_cast<int32_t>(it - clusters.categories.begin());
  };
  for (const auto& [from, to] : pairs) {
    codes_of_pairs.emplace_back(code_of(from), code_of(to));
    pair_names.push_back(from + ">" + to);
  }

  const std::string basis_key = options.basis.empty() ? "" : "X_" + options.basis;
  const DenseArray* basis = basis_key.empty() ? nullptr : find_dense_obsm(d, basis_key);
  if (!basis_key.empty() && !basis) {
    missing("obsm/" + basis_key, "not present (obsm: " + slot_keys(d.obsm) + ")");
    return report;
  }
  const bool have_graph = d.obsp.count(options.graph) != 0;
  if (!have_graph && !basis) {
    missing("obsp/" + options.graph, "not present, and no --basis to compute neighbours in: pass --basis (e.g. umap)");
    return report;
  }
  if (!have_graph && (options.n_neighbors < 1 || options.n_neighbors >= d.n_obs))
    fail(file, "--n-neighbors", "expected 1 .. n_obs-1 = " + std::to_string(d.n_obs - 1) + ", found " + std::to_string(options.n_neighbors));

  // CBDir's prerequisites are checked before any work, so an explicit request fails fast.
  std::string cbdir_missing, cbdir_why;
  if (!basis) {
    cbdir_missing = "--basis";
    cbdir_why = "CBDir needs an embedding (--basis) and the velocity in it";
  } else if (!emb_v) {
    cbdir_missing = "obsm/" + emb_velocity;
    cbdir_why = "not present: CBDir needs the velocity in the embedding (run cell-velocities for this basis)";
  } else if (emb_v->row_stride() != basis->row_stride()) {
    fail(file, "obsm/" + emb_velocity,
         "has " + std::to_string(emb_v->row_stride()) + " columns but obsm/" + basis_key + " has " + std::to_string(basis->row_stride()));
  }
  if (!cbdir_missing.empty()) {
    if (asked) fail(file, cbdir_missing, cbdir_why);
    report.notes.push_back("CBDir skipped: " + cbdir_missing + ": " + cbdir_why);
  }

  const std::vector<int32_t> codes = gather_codes(d, clusters);
  std::vector<double> positions;
  if (basis) {
    require_finite(d, *basis, "obsm/" + basis_key);
    positions = gather_dense_rows(d, *basis);
  }
  const NeighborLists neighbors = have_graph ? neighbors_from_graph(d, options.graph)
                                             : neighbors_from_embedding(d, positions, static_cast<int>(basis->row_stride()),
                                                                        options.n_neighbors, basis_key);
  report.neighbor_source = neighbors.source;

  report.iccoh = in_cluster_coherence(d.comm, d.partition(), d.obs_begin, codes, clusters.categories, neighbors, velocity);
  report.iccoh_mean = mean_over_groups(*report.iccoh);
  if (cbdir_missing.empty()) {
    report.cbdir = cross_boundary_direction(d.comm, d.obs_begin, codes, codes_of_pairs, pair_names, neighbors, positions, *emb_v);
    report.cbdir_mean = mean_over_groups(*report.cbdir);
  }
  return report;
}

}  // namespace velofield
