#include "transition/cell_velocities_stage.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "transition/embedding_velocity.hpp"
#include "transition/grid_velocity.hpp"
#include "transition/transition_genes.hpp"
#include "transition/transition_matrix.hpp"
#include "transition/transition_methods.hpp"

namespace velofield {

namespace {

std::vector<StageKey> keys() {
  return {
      {"method", "pearson", "transition kernel: " + transition_method_names() + " (dynamo's 'correlation' is pearson)"},
      {"transform", "sqrt", "elementwise transform of velocity and displacement: " + similarity_transform_names()},
      {"basis", "umap", "embedding to project onto: obsm/X_<basis> → obsm/velocity_<basis>"},
      {"bases", "", "several embeddings at once, comma-separated (e.g. umap, pca); the matrix is computed once; overrides basis"},
      {"n_neighbors", "30", "kNN per cell, the cell itself included (the rows of obsp/<graph>)"},
      {"n_recurse_neighbors", "2", "neighbourhood: 1 = the kNN, 2 = the kNN and theirs (dynamo's default)"},
      {"graph", "distances", "obsp key of the directed kNN distances"},
      {"ekey", "M_s", "expression layer the displacements come from"},
      {"vkey", "velocity_S", "velocity layer"},
      {"enforce", "false", "recompute the transition matrix even when obsp/<method>_transition_matrix exists"},
      {"correct_density", "true", "centre the weights of each row (subtract their mean) when projecting"},
      {"xy_grid_nums", "50", "grid points per axis of uns/grid_velocity_<basis> (dynamo's xy_grid_nums, square)"},
      {"halo_chunk_mb", "256", "MiB of other ranks' expressions held at once (more: fewer passes over the cells)"},
  };
}

// How the user named an option, for messages.
std::string option(const StageConfig& sc, const std::string& key) {
  return sc.config().has(sc.section(), key) ? sc.config().where(sc.section(), key) : "--" + key;
}

int64_t max_over_ranks(MPI_Comm comm, int64_t v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT64_T, MPI_MAX, comm);
  return v;
}
int64_t sum_over_ranks(MPI_Comm comm, int64_t v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT64_T, MPI_SUM, comm);
  return v;
}
double max_over_ranks(MPI_Comm comm, double v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, comm);
  return v;
}
std::string mib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  return text;
}

// Collective: a non-finite coordinate would turn every projection through it into NaN.
void require_finite_embedding(const Dataset& d, const DenseArray& e, const std::string& key) {
  std::string problem;
  const int64_t stride = std::max<int64_t>(1, e.row_stride());
  for (size_t k = 0; k < e.values.size() && problem.empty(); ++k)
    if (!std::isfinite(e.values.as_double(k)))
      problem = describe(d.source, "obsm/" + key,
                         "cell " + std::to_string(d.obs_begin + static_cast<int64_t>(k) / stride) +
                             " has a non-finite coordinate; the projection needs finite positions");
  agree(d.comm, problem.empty(), problem);
}

void run_cell_velocities(Dataset& d, const StageConfig& sc) {
  const std::clock_t cpu_start = std::clock();   // CPU time: on a shared machine wall time counts the queue too
  const TransitionMethod& method = transition_method(sc.get_string("method"), "", option(sc, "method"));
  TransitionMatrixOptions o;
  o.measure = method.measure;
  o.transform = similarity_transform(sc.get_string("transform"), "", option(sc, "transform"));
  o.ekey = sc.get_string("ekey");
  o.vkey = sc.get_string("vkey");
  o.graph = sc.get_string("graph");
  o.n_neighbors = sc.get_int("n_neighbors");
  if (o.n_neighbors < 2) fail("", option(sc, "n_neighbors"), "expected at least 2 (the cell and one neighbour), found " + std::to_string(o.n_neighbors));
  const long long hops = sc.get_int("n_recurse_neighbors");
  if (hops != 1 && hops != 2) fail("", option(sc, "n_recurse_neighbors"), "expected 1 or 2, found " + std::to_string(hops));
  o.hops = static_cast<int>(hops);
  const bool enforce = sc.get_bool("enforce"), correct_density = sc.get_bool("correct_density");
  const double chunk_mb = sc.get_double("halo_chunk_mb");
  if (!(chunk_mb > 0)) fail("", option(sc, "halo_chunk_mb"), "expected a positive size in MiB, found " + sc.get_string("halo_chunk_mb"));
  o.halo_chunk_bytes = static_cast<int64_t>(std::min(chunk_mb, 1e9) * 1048576.0);
  const std::vector<std::string> grid_nums = sc.get_list("xy_grid_nums");
  long long grid = 0;
  try {
    if (grid_nums.empty() || grid_nums.size() > 2) throw std::invalid_argument("count");
    grid = std::stoll(grid_nums[0]);
    if (grid_nums.size() == 2 && std::stoll(grid_nums[1]) != grid) throw std::invalid_argument("unequal");
  } catch (const std::exception&) {
    grid = 0;
  }
  if (grid < 2)
    fail("", option(sc, "xy_grid_nums"), "expected one count of grid points per axis (≥ 2), or two equal ones, found '" +
                                             sc.get_string("xy_grid_nums") + "'");
  std::vector<std::string> bases = sc.get_list("bases");
  if (bases.empty()) bases = sc.get_list("basis");
  if (bases.empty()) fail("", option(sc, "basis"), "no embedding named");

  // Every embedding is checked before the expensive part.
  for (const std::string& basis : bases) {
    const std::string key = "X_" + basis;
    const DenseArray& e = d.obsm_dense(key);
    if (e.shape.size() != 2 || e.row_stride() < 1) fail(d.source, "obsm/" + key, "expected a cells × dimensions array");
    require_finite_embedding(d, e, key);
  }

  const std::string matrix_key = method.name + "_transition_matrix";
  if (d.obsp.count(matrix_key) && !enforce) {
    log().info("cell-velocities: reusing obsp/" + matrix_key + " (as dynamo does; --enforce true recomputes it)");
  } else {
    TransitionGenes genes = transition_genes(d);
    if (genes.derived) store_transition_genes(d, genes.genes);
    log().info(cat("cell-velocities: ", method.name, " kernel (", sc.get_string("transform"), ") over ", genes.genes.size(),
                   " transition genes (", genes.origin, "), ", o.hops == 2 ? "two-hop" : "one-hop", " neighbourhoods of the ",
                   o.n_neighbors, "-NN in obsp/", o.graph));
    StageTimer timer(d.comm, "cell-velocities: transition matrix");
    TransitionMatrixReport r;
    DistMatrix T = transition_matrix(d, genes.genes, o, r);
    timer.stop(d.n_obs, d.n_vars);   // sub-step records describe the dataset, as the stage record does
    // The report in two reductions: maxima over ranks, and the sums of the counts.
    double report[8] = {r.seconds_neighborhoods, r.seconds_halo, r.seconds_kernel, r.cpu_seconds_kernel, r.seconds_assembly,
                        static_cast<double>(r.halo_rows), static_cast<double>(r.table_rows), static_cast<double>(r.bytes_received)};
    double counts[2] = {static_cast<double>(r.entries), static_cast<double>(r.empty_rows)};
    MPI_Allreduce(MPI_IN_PLACE, report, 8, MPI_DOUBLE, MPI_MAX, d.comm);
    MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_DOUBLE, MPI_SUM, d.comm);
    log().info(cat("cell-velocities: obsp/", matrix_key, ": ", static_cast<int64_t>(counts[0]), " entries (", counts[0] / static_cast<double>(d.n_obs),
                   " per cell), ", static_cast<int64_t>(counts[1]), " cells without transitions; self-weight bound ub = ", r.upper_bound,
                   r.single_precision ? "; float32 expressions" : ""));
    log().info(cat("cell-velocities: steps (max over ranks): neighbourhoods ", report[0], " s, input checks + halo exchange ", report[1],
                   " s, kernel ", report[2], " s (cpu ", report[3], " s), matrix ", report[4], " s"));
    log().info(cat("cell-velocities: halo per rank (max): ", static_cast<int64_t>(report[5]), " of ", static_cast<int64_t>(report[6]),
                   " expression rows from other ranks, ", mib(static_cast<int64_t>(report[7])), " received, ", r.passes,
                   " pass(es) over the cells"));
    log().detail(cat("cell-velocities: this rank received ", r.bytes_received, " bytes (", r.halo_rows, " halo rows)"));
    d.obsp[matrix_key] = std::move(T);
  }

  const DistMatrix& T = d.obsp.at(matrix_key);
  for (const std::string& basis : bases) {
    const DenseArray& e = d.obsm_dense("X_" + basis);
    StageTimer timer(d.comm, "cell-velocities: projection " + basis);
    ProjectionReport pr;
    DenseArray v = embedding_velocity(d, T, e, correct_density, pr);
    timer.stop(d.n_obs, d.n_vars);
    log().info(cat("cell-velocities: obsm/velocity_", basis, " (", e.row_stride(), " dimensions), ", sum_over_ranks(d.comm, pr.undefined_cells),
                   " cells NaN (empty transition rows); halo ", mib(max_over_ranks(d.comm, pr.bytes_received)), " per rank (max)"));
    if (e.row_stride() >= 2) {
      StageTimer grid_timer(d.comm, "cell-velocities: grid " + basis);
      GridVelocityReport gr;
      GridVelocityOptions go;
      go.points_per_axis = grid;
      UnsNode g = grid_velocity(d, e, v, go, gr);
      grid_timer.stop(d.n_obs, d.n_vars);
      if (g.children.empty())
        log().warn("cell-velocities: no cell has a finite velocity_" + basis + ": uns/grid_velocity_" + basis + " not written");
      else
        d.uns["grid_velocity_" + basis] = std::move(g);
    }
    d.obsm["velocity_" + basis] = std::move(v);
  }
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  log().info(cat("cell-velocities: cpu seconds per rank (max): ", max_over_ranks(d.comm, cpu)));
}

}  // namespace

Stage cell_velocities_stage() {
  return {"cell-velocities",
          "Transition matrix from the velocity and the kNN graph (dyn.tl.cell_velocities), and the velocity projected onto "
          "embeddings: obsp/<method>_transition_matrix, obsm/velocity_<basis>, uns/grid_velocity_<basis>",
          keys(), run_cell_velocities};
}

}  // namespace velofield
