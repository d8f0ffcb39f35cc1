#include "neighbors/umap_stage.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "neighbors/graph_keys.hpp"
#include "neighbors/neighbor_graph.hpp"
#include "neighbors/umap_layout.hpp"

namespace velofield {

namespace {

std::vector<StageKey> umap_keys() {
  std::vector<StageKey> keys = neighbor_graph_keys();
  const std::vector<StageKey> own = {
      {"n_components", "2", "dimensions of the layout"},
      {"min_dist", "0.5", "UMAP min_dist (dynamo's reduceDimension default; umap-learn's is 0.1)"},
      {"spread", "1.0", "UMAP spread"},
      {"n_epochs", "0", "optimisation epochs; 0: 500 up to 10,000 cells, 200 above"},
      {"learning_rate", "1.0", "initial SGD learning rate (falls linearly to 0)"},
      {"negative_sample_rate", "5", "random cells pushed away per sampled edge"},
      {"repulsion_strength", "1.0", "weight of the negative samples (UMAP's gamma)"},
      {"init", "spectral", "initial layout: spectral (graph Laplacian eigenvectors; falls back to pca on a disconnected "
                           "graph) or pca (the first basis columns)"},
      {"sync_every", "1", "epochs between exchanges of the cells' positions (every cell reads positions this many epochs "
                          "old at most; 1 is standard UMAP)"},
      {"enforce", "false", "recompute even when obsm/X_umap exists"},
  };
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

double positive(const StageConfig& sc, const std::string& key, bool allow_zero) {
  const double v = sc.get_double(key);
  if (!(allow_zero ? v >= 0 : v > 0)) throw Error(option_name(sc, key) + ": must be " + (allow_zero ? "non-negative" : "positive"));
  return v;
}

void run_umap(Dataset& dataset, const StageConfig& sc) {
  const NeighborGraphOptions graph_options = neighbor_graph_options(sc);
  UmapOptions o;
  o.n_components = int_option(sc, "n_components", 1);
  if (o.n_components > 8) throw Error(option_name(sc, "n_components") + ": at most 8 dimensions");
  o.min_dist = positive(sc, "min_dist", true);
  o.spread = positive(sc, "spread", false);
  o.n_epochs = int_option(sc, "n_epochs", 0);
  o.learning_rate = positive(sc, "learning_rate", false);
  o.negative_sample_rate = positive(sc, "negative_sample_rate", false);
  o.repulsion_strength = positive(sc, "repulsion_strength", true);
  o.init = sc.get_string("init");
  if (o.init != "spectral" && o.init != "pca") throw Error(option_name(sc, "init") + ": expected spectral or pca, found '" + o.init + "'");
  o.seed = static_cast<uint64_t>(sc.get_int("seed"));
  o.sync_every = int_option(sc, "sync_every", 1);
  if (dataset.obsm.count("X_umap") && !sc.get_bool("enforce")) {
    log().info("umap: obsm/X_umap exists; kept (set enforce = true to recompute)");
    return;
  }

  // The basis (checked: present, finite, enough cells) for the PCA start, and the graph: the
  // stored one when it was built from the same basis and parameters, else a new one (not stored,
  // so a graph another stage wrote is never replaced behind its back).
  int n_pcs = 0;
  const KnnPoints points = knn_points_from(dataset, graph_options, n_pcs);
  DistMatrix built;
  const DistMatrix* graph = nullptr;
  if (stored_graph_matches(dataset, graph_options)) {
    graph = &dataset.obsp.at("connectivities");
    log().info("umap: using obsp/connectivities (built from obsm/" + graph_options.basis + ")");
  } else {
    StageTimer t(dataset.comm, "umap: neighbour graph");
    NeighborGraph g = build_neighbor_graph(dataset, graph_options);
    t.stop(dataset.n_obs, g.n_pcs);
    built = std::move(g.connectivities);
    graph = &built;
  }
  StageTimer t(dataset.comm, "umap: layout");
  const UmapResult r = umap_layout(dataset.comm, dataset.partition(), *graph, points.local, points.dim, o);
  t.stop(dataset.n_obs, o.n_components);
  DenseArray x = DenseArray::zeros({dataset.n_obs_local, o.n_components}, DType::f32);
  std::copy(r.embedding.begin(), r.embedding.end(), x.values.data<float>());
  dataset.obsm["X_umap"] = std::move(x);
  UnsNode params = UnsNode::dict();
  params["a"] = UnsNode::scalar<double>(r.curve.a);
  params["b"] = UnsNode::scalar<double>(r.curve.b);
  params["min_dist"] = UnsNode::scalar<double>(o.min_dist);
  params["spread"] = UnsNode::scalar<double>(o.spread);
  params["n_epochs"] = UnsNode::scalar<int64_t>(r.n_epochs);
  params["n_neighbors"] = UnsNode::scalar<int64_t>(graph_options.knn.k);
  params["negative_sample_rate"] = UnsNode::scalar<double>(o.negative_sample_rate);
  params["init"] = UnsNode::string(r.init);
  params["use_rep"] = UnsNode::string(graph_options.basis);
  params["seed"] = UnsNode::scalar<int64_t>(static_cast<int64_t>(o.seed));
  params["sync_every"] = UnsNode::scalar<int64_t>(o.sync_every);
  UnsNode umap = UnsNode::dict();
  umap["params"] = std::move(params);
  dataset.uns["umap"] = std::move(umap);
  log().info(cat("umap: ", r.n_epochs, " epochs from the ", r.init, " initialisation (a = ", r.curve.a, ", b = ", r.curve.b, ")"));
}

}  // namespace

Stage umap_stage() {
  return {"umap",
          "UMAP layout of the neighbour graph into obsm/X_umap (dyn.tl.reduceDimension); reuses obsp/connectivities "
          "when it was built from the same basis and n_neighbors, skips when X_umap exists unless enforce = true",
          umap_keys(), run_umap};
}

}  // namespace velofield
