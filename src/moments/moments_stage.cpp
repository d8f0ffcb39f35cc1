#include "moments/moments_stage.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "moments/moment_layers.hpp"
#include "moments/moment_matrix.hpp"
#include "neighbors/graph_keys.hpp"
#include "neighbors/neighbor_graph.hpp"

namespace velofield {

namespace {

std::vector<StageKey> moments_keys() {
  std::vector<StageKey> keys = neighbor_graph_keys();
  const std::vector<StageKey> own = {
      {"genes", "selected", "genes with moments: selected (var/use_for_pca) or all"},
      {"spliced_layer", "X_spliced", "normalised spliced layer (M_s, M_ss, M_us)"},
      {"unspliced_layer", "X_unspliced", "normalised unspliced layer (M_u, M_uu, M_us)"},
      {"second_moments", "true", "also write the uncentred second moments M_uu, M_us, M_ss"},
      {"dtype", "float64", "storage of the M_* layers: float64 or float32 (half the memory)"},
  };
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

void run_moments(Dataset& dataset, const StageConfig& sc) {
  NeighborGraphOptions graph_options = neighbor_graph_options(sc);
  MomentLayerOptions layer_options;
  layer_options.spliced = sc.get_string("spliced_layer");
  layer_options.unspliced = sc.get_string("unspliced_layer");
  layer_options.second_moments = sc.get_bool("second_moments");
  const std::string dtype = sc.get_string("dtype");
  if (dtype != "float64" && dtype != "float32") throw Error(option_name(sc, "dtype") + ": expected float64 or float32, found '" + dtype + "'");
  layer_options.dtype = dtype == "float32" ? DType::f32 : DType::f64;
  const std::string genes = sc.get_string("genes");
  if (genes != "selected" && genes != "all") throw Error(option_name(sc, "genes") + ": expected selected or all, found '" + genes + "'");
  if (genes == "all") {
    for (int64_t g = 0; g < dataset.n_vars; ++g) layer_options.genes.push_back(g);
  } else {
    agree_on(dataset.comm, [&] { layer_options.genes = selected_genes(dataset, option_name(sc, "genes")); });
  }

  check_moment_inputs(dataset, layer_options);

  StageTimer knn_timer(dataset.comm, "moments: neighbour graph");
  NeighborGraph graph = build_neighbor_graph(dataset, graph_options);
  knn_timer.stop(dataset.n_obs, graph.n_pcs);
  log().info(cat("moments: ", graph_options.knn.k, " neighbours per cell (", graph.knn.method, ") in the first ", graph.n_pcs,
                 " columns of obsm/", graph_options.basis));

  StageTimer layers_timer(dataset.comm, "moments: smoothing");
  DistMatrix w = moment_matrix(dataset.comm, graph.connectivities);
  store_neighbor_graph(dataset, graph, graph_options);
  compute_moment_layers(dataset, w, layer_options);
  dataset.obsp["moments_con"] = std::move(w);
  layers_timer.stop(dataset.n_obs, static_cast<int64_t>(layer_options.genes.size()));
}

}  // namespace

Stage moments_stage() {
  return {"moments",
          "kNN graph in an embedding (X_pca), UMAP connectivities, dynamo's moment matrix, and the first and second "
          "moments M_s, M_u, M_ss, M_us, M_uu of the normalised layers (dyn.tl.moments)",
          moments_keys(), run_moments};
}

}  // namespace velofield
