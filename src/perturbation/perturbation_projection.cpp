#include "perturbation/perturbation_projection.hpp"

#include <numeric>

#include "core/error.hpp"
#include "transition/embedding_velocity.hpp"
#include "transition/grid_velocity.hpp"

namespace velofield {

namespace {

DenseArray dense_rows(int64_t rows, int64_t dim, const std::vector<double>& values) {
  DenseArray a;
  a.shape = {rows, dim};
  a.values = Array::from(values);
  return a;
}

// Puts d.obsp[key] back when the projection is done or throws.
struct LentGraph {
  Dataset& owner;
  Dataset& borrower;
  std::string key;
  ~LentGraph() {
    if (borrower.obsp.count(key)) owner.obsp[key] = std::move(borrower.obsp.at(key));
  }
};

}  // namespace

PerturbationProjection project_perturbation(Dataset& d, const std::vector<double>& x_pca, const std::vector<double>& delta_y,
                                            int64_t dim, const DenseArray& embedding, TransitionMatrixOptions o,
                                            bool correct_density, int64_t grid_points) {
  if (!d.obsp.count(o.graph))
    fail(d.source, "obsp/" + o.graph, "not present: the projection needs the kNN graph (run the moments stage, or name another with --graph)");
  // The kernel's view of the data: a dataset whose "genes" are the PCA dimensions, with X_pca as
  // the expression and δy as the velocity, on the same cells and the same kNN graph.
  Dataset view;
  view.comm = d.comm;
  view.n_obs = d.n_obs;
  view.n_vars = dim;
  view.obs_begin = d.obs_begin;
  view.n_obs_local = d.n_obs_local;
  view.source = d.source;
  for (int64_t q = 0; q < dim; ++q) view.var.index.push_back("PC" + std::to_string(q + 1));
  view.layers["X_pca"] = dense_rows(d.n_obs_local, dim, x_pca);
  view.layers["j_delta_x_perturbation"] = dense_rows(d.n_obs_local, dim, delta_y);
  o.ekey = "X_pca";
  o.vkey = "j_delta_x_perturbation";
  std::vector<int64_t> genes(static_cast<size_t>(dim));
  std::iota(genes.begin(), genes.end(), 0);
  PerturbationProjection out;
  {
    view.obsp[o.graph] = std::move(d.obsp.at(o.graph));
    LentGraph lent{d, view, o.graph};
    out.transition = transition_matrix(view, genes, o, out.report);
  }
  ProjectionReport pr;
  out.velocity = embedding_velocity(d, out.transition, embedding, correct_density, pr);
  if (embedding.row_stride() >= 2) {
    GridVelocityOptions go;
    go.points_per_axis = grid_points;
    GridVelocityReport gr;
    out.grid = grid_velocity(d, embedding, out.velocity, go, gr);
  }
  return out;
}

}  // namespace velofield
