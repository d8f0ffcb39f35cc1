#include "vectorfield/vectorfield_stage.hpp"
#include "core/gather.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "rkhs_field.hpp"
#include "vectorfield/control_points.hpp"
#include "vectorfield/fit_cells.hpp"
#include "vectorfield/gene_jacobian.hpp"
#include "vectorfield/kernel_bandwidth.hpp"
#include "vectorfield/kernel_blocks.hpp"
#include "vectorfield/sparse_vfc.hpp"
#include "vectorfield/vector_calculus.hpp"
#include "vectorfield/vector_field_grid.hpp"

namespace velofield {

namespace {

// dynamo's default M, max(min(50, N), floor(0.05 N) + 1), grows without bound (50,001 at 1M cells,
// a 20 GB M × M system); velofield caps the default here. An explicit M is not capped.
constexpr int64_t kDefaultMaxControlPoints = 2000;
// The M × M objects (K, L, its factor, the reduction buffer) are replicated on every rank.
constexpr int64_t kMaxControlPoints = 20000;
// Per-cell arrays are copied into uns VecFld_<basis> (dynamo's layout, replicated on every rank)
// only up to this many cells when uns_cell_arrays = auto.
constexpr int64_t kUnsCellArraysAutoLimit = 200000;

[[noreturn]] void bad_option(const StageConfig& sc, const std::string& key, const std::string& problem) {
  throw Error(sc.config().where(sc.section(), key) + ": " + problem);
}

double positive_option(const StageConfig& sc, const std::string& key) {
  const double v = sc.get_double(key);
  if (!(v > 0) || !std::isfinite(v)) bad_option(sc, key, "must be a positive number, found " + std::to_string(v));
  return v;
}

double fraction_option(const StageConfig& sc, const std::string& key) {
  const double v = sc.get_double(key);
  if (!(v > 0 && v < 1)) bad_option(sc, key, "must lie strictly between 0 and 1, found " + std::to_string(v));
  return v;
}

struct StageSettings {
  std::string basis;
  SparseVfcOptions vfc;
  bool M_given = false;
  bool beta_given = false;
  std::string ctrl_idx_file;
  bool velocity_based_sampling = true;
  double min_vel_corr = 0.6;
  int64_t restart_num = 5;
  int64_t grid_num = 50;
  bool vector_calculus = true;
  std::vector<int64_t> jacobian_cells;
  std::vector<std::string> regulators, effectors;
  std::string uns_cell_arrays = "auto";
};

StageSettings read_settings(const StageConfig& sc, const Dataset& d) {
  StageSettings s;
  s.basis = sc.get_string("basis");
  if (s.basis.empty()) bad_option(sc, "basis", "is empty (an embedding name: pca, umap, ...)");
  const std::string M = trim(sc.get_string("M"));
  s.M_given = !M.empty();
  if (s.M_given) {
    s.vfc.M = sc.get_int("M");
    if (s.vfc.M < 2) bad_option(sc, "M", "needs at least 2 control points, found " + M);
    if (s.vfc.M > kMaxControlPoints)
      bad_option(sc, "M", "at most " + std::to_string(kMaxControlPoints) + " control points (the M × M system is "
                 "replicated on every rank), found " + M);
    if (s.vfc.M > d.n_obs)
      bad_option(sc, "M", "asks for " + M + " control points but " + d.source + " has only " + std::to_string(d.n_obs) +
                 " cells (fewer cells than control points); lower M");
  } else {
    s.vfc.M = std::min(std::max<int64_t>(std::min<int64_t>(50, d.n_obs), d.n_obs / 20 + 1), kDefaultMaxControlPoints);
  }
  s.vfc.a = positive_option(sc, "a");
  const std::string beta = trim(sc.get_string("beta"));
  s.beta_given = !beta.empty() && beta != "auto";
  if (s.beta_given) s.vfc.beta = positive_option(sc, "beta");
  s.vfc.ecr = fraction_option(sc, "ecr");
  s.vfc.gamma = fraction_option(sc, "gamma");
  s.vfc.lambda = positive_option(sc, "lambda_");
  s.vfc.minP = fraction_option(sc, "minP");
  s.vfc.MaxIter = sc.get_int("MaxIter");
  if (s.vfc.MaxIter < 1) bad_option(sc, "MaxIter", "needs at least one EM iteration");
  s.vfc.theta = fraction_option(sc, "theta");
  const long long seed = sc.get_int("seed");
  if (seed < 0) bad_option(sc, "seed", "must be a non-negative integer");
  s.vfc.seed = static_cast<uint64_t>(seed);
  const std::string method = sc.get_string("lstsq_method");
  if (method == "cholesky") s.vfc.solver = CoefficientSolver::cholesky;
  else if (method == "drouin") s.vfc.solver = CoefficientSolver::drouin;
  else bad_option(sc, "lstsq_method", "expected cholesky or drouin, found '" + method + "'");
  s.vfc.kernel_cache_bytes = sc.get_double("kernel_cache_gb") * double(1 << 30);
  if (!(s.vfc.kernel_cache_bytes >= 0)) bad_option(sc, "kernel_cache_gb", "must be a size in GiB (0: recompute)");
  s.ctrl_idx_file = sc.config().get_path(sc.section(), "ctrl_idx", "");
  s.velocity_based_sampling = sc.get_bool("velocity_based_sampling");
  s.min_vel_corr = sc.get_double("min_vel_corr");
  s.restart_num = sc.get_int("restart_num");
  if (s.restart_num < 1) bad_option(sc, "restart_num", "is the number of fits tried, at least 1");
  s.grid_num = sc.get_int("grid_num");
  if (s.grid_num < 2) bad_option(sc, "grid_num", "needs at least 2 points per dimension");
  s.vector_calculus = sc.get_bool("vector_calculus");
  for (const auto& item : sc.get_list("jacobian_cells")) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v >= d.n_obs)
      bad_option(sc, "jacobian_cells", "'" + item + "' is not a cell index in [0, " + std::to_string(d.n_obs) + ")");
    s.jacobian_cells.push_back(v);
  }
  s.regulators = sc.get_list("regulators");
  s.effectors = sc.get_list("effectors");
  s.uns_cell_arrays = sc.get_string("uns_cell_arrays");
  if (s.uns_cell_arrays != "auto" && s.uns_cell_arrays != "true" && s.uns_cell_arrays != "false")
    bad_option(sc, "uns_cell_arrays", "expected auto, true or false, found '" + s.uns_cell_arrays + "'");
  return s;
}

DenseArray dense(std::vector<int64_t> shape, const std::vector<double>& values) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(values);
  return a;
}

UnsNode numeric(std::vector<int64_t> shape, const std::vector<double>& values) {
  return UnsNode::numeric(dense(std::move(shape), values));
}

UnsNode integers(const std::vector<int64_t>& values) {
  DenseArray a;
  a.shape = {static_cast<int64_t>(values.size())};
  a.values = Array::from(values);
  return UnsNode::numeric(a);
}

UnsNode boolean(bool v) {
  UnsNode n = UnsNode::scalar<uint8_t>(v ? 1 : 0);
  n.array.values = n.array.values.converted(DType::boolean);
  return n;
}

// dynamo's signed angle between the velocity y and the field f at a cell: arccos of the cosine,
// signed by minus the sign of det [[ŷ_{D-1}, ŷ_D], [f̂_{D-1}, f̂_D]] (+ where that is 0); NaN if
// either vector is zero.
double signed_angle(const double* y, const double* f, int64_t D) {
  double ny = 0, nf = 0;
  for (int64_t q = 0; q < D; ++q) {
    ny += y[q] * y[q];
    nf += f[q] * f[q];
  }
  ny = std::sqrt(ny);
  nf = std::sqrt(nf);
  if (ny == 0 || nf == 0) return std::numeric_limits<double>::quiet_NaN();
  double dot = 0;
  for (int64_t q = 0; q < D; ++q) dot += (y[q] / ny) * (f[q] / nf);
  double sign = 1;
  if (D >= 2) {
    const double minor = (y[D - 2] / ny) * (f[D - 1] / nf) - (y[D - 1] / ny) * (f[D - 2] / nf);
    if (minor != 0) sign = minor > 0 ? -1 : 1;
  }
  return sign * std::acos(std::clamp(dot, -1.0, 1.0));
}

struct Attempt {
  ControlPoints ctrl;
  double beta = 0;
  SparseVfcFit fit;
  double cosine = 0;
  uint64_t seed = 0;
};

void run_vectorfield(Dataset& d, const StageConfig& sc) {
  const StageSettings s = read_settings(sc, d);
  const std::string x_key = "X_" + s.basis, v_key = "velocity_" + s.basis;
  const DenseArray* xa = nullptr;
  const DenseArray* ya = nullptr;
  agree_on(d.comm, [&] {
    xa = &d.obsm_dense(x_key);
    ya = &d.obsm_dense(v_key);
    if (xa->row_stride() != ya->row_stride())
      fail(d.source, "obsm/" + v_key, "has " + std::to_string(ya->row_stride()) + " columns but obsm/" + x_key + " has " +
                                          std::to_string(xa->row_stride()));
    if (xa->row_stride() < 1) fail(d.source, "obsm/" + x_key, "has no columns");
  });
  const int64_t rows = d.n_obs_local, D = xa->row_stride();
  const std::vector<double> X = xa->values.to_double(), Y = ya->values.to_double();

  // The embedding must be finite everywhere; velocities that are not are dynamo's invalid cells
  // (a cell with an empty transition row gets a NaN embedding velocity): left out of the fit.
  std::vector<uint8_t> valid(static_cast<size_t>(rows), 1);
  int64_t bad_x = 0, first_bad_x = -1, n_valid = 0;
  double y_sq = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t q = 0; q < D; ++q) {
      if (!std::isfinite(X[static_cast<size_t>(i * D + q)])) {
        ++bad_x;
        if (first_bad_x < 0) first_bad_x = d.obs_begin + i;
      }
      if (!std::isfinite(Y[static_cast<size_t>(i * D + q)])) valid[static_cast<size_t>(i)] = 0;
    }
    if (valid[static_cast<size_t>(i)]) {
      ++n_valid;
      for (int64_t q = 0; q < D; ++q) y_sq += Y[static_cast<size_t>(i * D + q)] * Y[static_cast<size_t>(i * D + q)];
    }
  }
  agree(d.comm, bad_x == 0,
        describe(d.source, "obsm/" + x_key, std::to_string(bad_x) + " NaN/Inf value(s) (first in cell " +
                                                std::to_string(first_bad_x) + "); the embedding must be finite everywhere"));
  MPI_Allreduce(MPI_IN_PLACE, &n_valid, 1, MPI_INT64_T, MPI_SUM, d.comm);
  MPI_Allreduce(MPI_IN_PLACE, &y_sq, 1, MPI_DOUBLE, MPI_SUM, d.comm);
  if (n_valid == 0) fail(d.source, "obsm/" + v_key, "no cell has a finite velocity (every row holds NaN or Inf)");
  if (y_sq == 0) fail(d.source, "obsm/" + v_key, "every velocity is zero: there is no field to learn");
  if (n_valid < d.n_obs)
    log().info(cat("vectorfield: ", d.n_obs - n_valid, " of ", d.n_obs, " cells have a NaN/Inf velocity and are left out of the fit"));

  SparseVfcOptions vfc = s.vfc;
  // The speed a cell is drawn with as a control point (0: never drawn).
  auto speed_of = [&](const double* y) {
    if (!s.velocity_based_sampling) return 1.0;
    double sq = 0;
    for (int64_t q = 0; q < D; ++q) sq += y[q] * y[q];
    return std::sqrt(sq);
  };
  int64_t drawable = 0;
  for (int64_t i = 0; i < rows; ++i)
    if (valid[static_cast<size_t>(i)] && speed_of(&Y[static_cast<size_t>(i * D)]) > 0) ++drawable;
  MPI_Allreduce(MPI_IN_PLACE, &drawable, 1, MPI_INT64_T, MPI_SUM, d.comm);

  const std::string velocity_what = d.source.empty() ? "obsm/" + v_key : d.source + ": obsm/" + v_key;
  // Everything from here to the per-cell results runs on the fit layout (whole chunks per rank).
  FitCells cells;
  std::vector<double> speed;
  auto attempt = [&](uint64_t seed, const std::vector<int64_t>* given) {
    const FitCells& c = cells;
    Attempt a;
    a.seed = seed;
    if (given) {
      a.ctrl = control_points_from_cells(d.comm, c.begin, c.rows, D, c.x.data(), *given);
      const int64_t k = first_repeated_position(a.ctrl);
      if (k >= 0) fail(s.ctrl_idx_file, "", "cell " + std::to_string(a.ctrl.cells[static_cast<size_t>(k)]) +
                                                " lies at the same position as an earlier control point");
    } else {
      a.ctrl = sample_control_points_by_speed(d.comm, c.begin, c.rows, D, c.x.data(), speed.data(), vfc.M, seed,
                                              velocity_what);
    }
    a.beta = s.beta_given ? vfc.beta : kernel_bandwidth_beta(d.comm, a.ctrl.coords, a.ctrl.size(), D);
    KernelBlocks blocks(c.rows, D, c.x.data(), a.ctrl.coords, a.ctrl.size(), a.beta, vfc.kernel_cache_bytes,
                        c.layout.chunk_rows);
    log().info(cat("vectorfield: SparseVFC on ", s.basis, " (", D, "-D): ", n_valid, " cells, M = ", a.ctrl.size(),
                   ", beta = ", a.beta, ", kernel blocks ", blocks.cached() ? "cached" : "recomputed every pass"));
    a.fit = fit_sparse_vfc(d.comm, c.data(), a.ctrl, blocks, vfc);
    a.cosine = mean_velocity_cosine(d.comm, c.data(), a.fit.V, blocks);
    return std::make_pair(std::move(a), std::move(blocks));
  };

  std::vector<int64_t> given;
  if (!s.ctrl_idx_file.empty()) {
    agree_on(d.comm, [&] { given = read_cell_index_file(s.ctrl_idx_file, d.n_obs); });
    if (s.M_given && static_cast<int64_t>(given.size()) != vfc.M)
      bad_option(sc, "M", "is " + std::to_string(vfc.M) + " but " + s.ctrl_idx_file + " lists " +
                              std::to_string(given.size()) + " control points");
    if (static_cast<int64_t>(given.size()) < 2) fail(s.ctrl_idx_file, "", "needs at least 2 control points");
    vfc.M = static_cast<int64_t>(given.size());
  } else if (!s.M_given && drawable < vfc.M) {
    // dynamo draws at most as many control points as there are distinct positions.
    vfc.M = std::max<int64_t>(drawable, 2);
  }
  cells = fit_cells(d.comm, d.obs_begin, d.n_obs, D, X, Y, vfc.M);
  speed.assign(static_cast<size_t>(cells.rows), 0.0);
  for (int64_t i = 0; i < cells.rows; ++i)
    if (cells.valid[static_cast<size_t>(i)]) speed[static_cast<size_t>(i)] = speed_of(&cells.y[static_cast<size_t>(i * D)]);
  auto [best, blocks] = attempt(vfc.seed, given.empty() ? nullptr : &given);
  // dynamo retries a fit whose velocities and predictions agree poorly; its retries reuse the same
  // control points (the seed never reaches the sampler), so they repeat the first fit. Here each
  // retry draws new control points (seed + 100 k) and the best fit is kept.
  for (int64_t k = 1; k < s.restart_num && given.empty() && best.cosine < s.min_vel_corr; ++k) {
    log().info(cat("vectorfield: mean cosine between velocities and fit ", best.cosine, " < min_vel_corr ",
                   s.min_vel_corr, ": refitting with new control points (seed ", vfc.seed + 100 * k, ")"));
    auto [next, next_blocks] = attempt(vfc.seed + 100 * static_cast<uint64_t>(k), nullptr);
    if (next.cosine > best.cosine) {
      best = std::move(next);
      blocks = std::move(next_blocks);
    }
  }
  const SparseVfcFit& fit = best.fit;
  const int64_t M = best.ctrl.size();
  double mean_seconds = 0, mean_cpu = 0;
  for (double t : fit.iteration_seconds) mean_seconds += t;
  for (double t : fit.iteration_cpu_seconds) mean_cpu += t;
  mean_seconds /= static_cast<double>(std::max<size_t>(fit.iteration_seconds.size(), 1));
  mean_cpu /= static_cast<double>(std::max<size_t>(fit.iteration_cpu_seconds.size(), 1));
  log().info(cat("vectorfield: ", fit.iterations, " EM iterations (", fit.converged ? "converged" : "stopped at MaxIter",
                 "), sigma2 = ", fit.sigma2, ", rcond(L) = ", fit.last_solve.rcond, ", mean cosine to the velocities ",
                 best.cosine, ", ", mean_seconds, " s per EM iteration (", mean_cpu, " s CPU)"));

  CellCalculus calc_fit;
  if (s.vector_calculus) {
    const double t0 = MPI_Wtime();
    calc_fit = vector_calculus_at_cells(blocks, fit.coef, fit.V);
    double seconds = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, d.comm);
    log().info(cat("vectorfield: vector calculus (divergence, acceleration, curvature", D == 2 || D == 3 ? ", curl" : "",
                   ") at ", d.n_obs, " cells in ", seconds, " s"));
  }
  // The per-cell results, back in the dataset's layout.
  const HomeResults home = results_at_home(d.comm, cells, std::move(best.fit.V), std::move(best.fit.P),
                                           s.vector_calculus ? &calc_fit : nullptr);
  const std::vector<double>& V = home.V;
  const std::vector<double>& P = home.P;

  // obs: control points (true cell indices), posteriors, angles.
  std::vector<uint8_t> is_ctrl(static_cast<size_t>(rows), 0);
  for (int64_t c : best.ctrl.cells)
    if (c >= d.obs_begin && c < d.obs_begin + rows) is_ctrl[static_cast<size_t>(c - d.obs_begin)] = 1;
  d.obs.set("control_point_" + s.basis, Column::numeric(Array::from(is_ctrl, DType::boolean)));
  d.obs.set("inlier_prob_" + s.basis, Column::numeric(Array::from(P)));
  std::vector<double> angle(static_cast<size_t>(rows), std::numeric_limits<double>::quiet_NaN());
  for (int64_t i = 0; i < rows; ++i)
    if (valid[static_cast<size_t>(i)]) angle[static_cast<size_t>(i)] = signed_angle(&Y[static_cast<size_t>(i * D)], &V[static_cast<size_t>(i * D)], D);
  d.obs.set("obs_vf_angle_" + s.basis, Column::numeric(Array::from(angle)));

  // obsm: the embedding the field lives on and the field at the cells.
  d.obsm["X_" + s.basis + "_SparseVFC"] = *xa;
  d.obsm["velocity_" + s.basis + "_SparseVFC"] = dense({rows, D}, V);

  if (s.vector_calculus) {
    const CellCalculus& calc = home.calculus;
    d.obs.set("divergence_" + s.basis, Column::numeric(Array::from(calc.divergence)));
    d.obs.set("acceleration_" + s.basis, Column::numeric(Array::from(row_norms(calc.acceleration, D))));
    d.obsm["acceleration_" + s.basis] = dense({rows, D}, calc.acceleration);
    d.obs.set("curvature_" + s.basis, Column::numeric(Array::from(row_norms(calc.curvature, D))));
    d.obsm["curvature_" + s.basis] = dense({rows, D}, calc.curvature);
    if (D == 2) d.obs.set("curl_" + s.basis, Column::numeric(Array::from(calc.curl)));
    if (D == 3) {
      d.obs.set("curl_" + s.basis, Column::numeric(Array::from(row_norms(calc.curl, 3))));
      d.obsm["curl_" + s.basis] = dense({rows, 3}, calc.curl);
    }
  }

  // uns VecFld_<basis>: what dynamo's vector_field_function needs (X_ctrl, C, beta) and the fit.
  UnsNode vf = UnsNode::dict();
  vf["X_ctrl"] = numeric({M, D}, best.ctrl.coords);
  vf["ctrl_idx"] = integers(best.ctrl.cells);
  vf["C"] = numeric({M, D}, fit.coef);
  vf["beta"] = UnsNode::scalar<double>(best.beta);
  vf["sigma2"] = UnsNode::scalar<double>(fit.sigma2);
  vf["iteration"] = UnsNode::scalar<int64_t>(fit.iterations - 1);
  vf["E_traj"] = numeric({static_cast<int64_t>(fit.energy.size())}, fit.energy);
  vf["tecr_traj"] = numeric({static_cast<int64_t>(fit.energy_change.size())}, fit.energy_change);
  vf["method"] = UnsNode::string("SparseVFC");
  vf["normalize"] = boolean(false);
  vf["converged"] = boolean(fit.converged);
  vf["gamma"] = UnsNode::scalar<double>(fit.gamma);
  vf["rcond_lhs"] = UnsNode::scalar<double>(fit.last_solve.rcond);
  vf["mean_velocity_cosine"] = UnsNode::scalar<double>(best.cosine);
  vf["n_fitted_cells"] = UnsNode::scalar<int64_t>(fit.n_valid);
  UnsNode options = UnsNode::dict();
  options["M"] = UnsNode::scalar<int64_t>(M);
  options["a"] = UnsNode::scalar<double>(vfc.a);
  options["beta"] = s.beta_given ? UnsNode::scalar<double>(vfc.beta) : UnsNode::string("auto");
  options["ecr"] = UnsNode::scalar<double>(vfc.ecr);
  options["gamma"] = UnsNode::scalar<double>(vfc.gamma);
  options["lambda_"] = UnsNode::scalar<double>(vfc.lambda);
  options["minP"] = UnsNode::scalar<double>(vfc.minP);
  options["MaxIter"] = UnsNode::scalar<int64_t>(vfc.MaxIter);
  options["theta"] = UnsNode::scalar<double>(vfc.theta);
  options["seed"] = UnsNode::scalar<int64_t>(static_cast<int64_t>(best.seed));
  options["lstsq_method"] = UnsNode::string(solver_name(vfc.solver));
  options["velocity_based_sampling"] = boolean(s.velocity_based_sampling);
  options["ctrl_idx"] = UnsNode::string(s.ctrl_idx_file);
  vf["options"] = options;

  if (D < 4) {
    // The grid is split over the ranks for the evaluation and gathered.
    const std::vector<double> grid = dynamo_grid(d.comm, rows, D, X.data(), s.grid_num);
    const int64_t points = static_cast<int64_t>(grid.size()) / D;
    const BlockPartition part{points, d.ranks()};
    const int64_t b = part.begin(d.rank()), n = part.size(d.rank());
    std::vector<double> local(static_cast<size_t>(n * D));
    kernels::rkhs_field_values({M, D, best.ctrl.coords.data(), fit.coef.data(), best.beta}, n, grid.data() + b * D,
                               local.data());
    vf["grid"] = numeric({points, D}, grid);
    vf["grid_V"] = numeric({points, D}, gather_concat(d.comm, local));
  }

  const bool cell_arrays = s.uns_cell_arrays == "true" || (s.uns_cell_arrays == "auto" && d.n_obs <= kUnsCellArraysAutoLimit);
  if (cell_arrays) {
    // dynamo's own layout, for its vector-calculus functions (which read X and Y from here).
    std::vector<double> p_valid, valid_ind, vfc_index;
    for (int64_t i = 0; i < rows; ++i)
      if (valid[static_cast<size_t>(i)]) {
        p_valid.push_back(P[static_cast<size_t>(i)]);
        valid_ind.push_back(static_cast<double>(d.obs_begin + i));
      }
    const std::vector<double> all_p = gather_concat(d.comm, p_valid), all_valid = gather_concat(d.comm, valid_ind);
    std::vector<int64_t> valid_idx(all_valid.begin(), all_valid.end()), inliers;
    for (size_t k = 0; k < all_p.size(); ++k)
      if (all_p[k] > vfc.theta) inliers.push_back(static_cast<int64_t>(k));
    const int64_t n_all = d.n_obs;
    UnsNode x_node = numeric({n_all, D}, gather_concat(d.comm, X));
    x_node.array.values = x_node.array.values.converted(xa->values.dtype());
    vf["X"] = x_node;
    vf["Y"] = numeric({n_all, D}, gather_concat(d.comm, Y));
    vf["V"] = numeric({n_all, D}, gather_concat(d.comm, V));
    vf["P"] = numeric({static_cast<int64_t>(all_p.size()), 1}, all_p);
    vf["valid_ind"] = integers(valid_idx);
    vf["VFCIndex"] = integers(inliers);
  }
  d.uns["VecFld_" + s.basis] = vf;

  if (!s.jacobian_cells.empty() || !s.regulators.empty() || !s.effectors.empty()) {
    // Jacobians only where asked for: d × d for the requested cells (dynamo's layout
    // jacobian[p, q, k] = ∂f_p/∂x_q at cell_idx[k]), and gene-space entries q_e J q_r for the
    // regulators and effectors at those cells (all cells when none are listed).
    const kernels::RkhsField field{M, D, best.ctrl.coords.data(), fit.coef.data(), best.beta};
    UnsNode j = UnsNode::dict();
    std::vector<int64_t> cell_idx = s.jacobian_cells;
    const int64_t n_req = static_cast<int64_t>(cell_idx.size());
    if (n_req > 0) {
      std::vector<double> jac(static_cast<size_t>(n_req * D * D), 0.0), one(static_cast<size_t>(D * D));
      for (int64_t k = 0; k < n_req; ++k) {
        const int64_t row = cell_idx[static_cast<size_t>(k)] - d.obs_begin;
        if (row < 0 || row >= rows) continue;
        kernels::rkhs_field_jacobians(field, 1, X.data() + row * D, one.data());
        for (int64_t p = 0; p < D; ++p)
          for (int64_t q = 0; q < D; ++q) jac[static_cast<size_t>((p * D + q) * n_req + k)] = one[static_cast<size_t>(p * D + q)];
      }
      MPI_Allreduce(MPI_IN_PLACE, jac.data(), static_cast<int>(jac.size()), MPI_DOUBLE, MPI_SUM, d.comm);
      j["jacobian"] = numeric({D, D, n_req}, jac);
    }
    if (!s.regulators.empty() || !s.effectors.empty()) {
      const std::vector<std::string> regs = s.regulators.empty() ? s.effectors : s.regulators;
      const std::vector<std::string> effs = s.effectors.empty() ? regs : s.effectors;
      GeneLoadings q_reg, q_eff;
      agree_on(d.comm, [&] {
        q_reg = pca_loadings(d, regs, D, sc.config().where(sc.section(), "regulators"));
        q_eff = pca_loadings(d, effs, D, sc.config().where(sc.section(), "effectors"));
      });
      const int64_t R = static_cast<int64_t>(regs.size()), E = static_cast<int64_t>(effs.size());
      std::vector<double> per_cell;   // cells × E × R, in cell_idx order
      if (n_req > 0) {
        per_cell.assign(static_cast<size_t>(n_req * E * R), 0.0);
        for (int64_t k = 0; k < n_req; ++k) {
          const int64_t row = cell_idx[static_cast<size_t>(k)] - d.obs_begin;
          if (row < 0 || row >= rows) continue;
          const auto g = gene_jacobians(field, 1, X.data() + row * D, q_reg, q_eff);
          std::copy(g.begin(), g.end(), per_cell.begin() + k * E * R);
        }
        MPI_Allreduce(MPI_IN_PLACE, per_cell.data(), static_cast<int>(per_cell.size()), MPI_DOUBLE, MPI_SUM, d.comm);
      } else {
        per_cell = gather_concat(d.comm, gene_jacobians(field, rows, X.data(), q_reg, q_eff));
        cell_idx.resize(static_cast<size_t>(d.n_obs));
        for (int64_t c = 0; c < d.n_obs; ++c) cell_idx[static_cast<size_t>(c)] = c;
      }
      const int64_t n = static_cast<int64_t>(cell_idx.size());
      std::vector<double> gene(per_cell.size());
      for (int64_t k = 0; k < n; ++k)
        for (int64_t e = 0; e < E; ++e)
          for (int64_t r = 0; r < R; ++r)
            gene[static_cast<size_t>((e * R + r) * n + k)] = per_cell[static_cast<size_t>((k * E + e) * R + r)];
      j["jacobian_gene"] = numeric({E, R, n}, gene);
      j["regulators"] = UnsNode::string_array(regs);
      j["effectors"] = UnsNode::string_array(effs);
    }
    j["cell_idx"] = integers(cell_idx);
    d.uns["jacobian_" + s.basis] = j;
  }
}

}  // namespace

Stage vectorfield_stage() {
  Stage s;
  s.name = "vectorfield";
  s.summary =
      "Learn a continuous vector field f(x) from the embedding velocities with SparseVFC (dyn.vf.VectorField): "
      "reads obsm X_<basis> and velocity_<basis>; writes uns VecFld_<basis>, obsm velocity_<basis>_SparseVFC, obs "
      "control_point_/inlier_prob_/obs_vf_angle_<basis> and the analytic divergence_/curl_/acceleration_/"
      "curvature_<basis> per cell.";
  s.keys = {
      {"basis", "pca", "the embedding: obsm X_<basis> and velocity_<basis> (pca, umap, ...)"},
      {"M", "", "control points (kernel centres); empty: dynamo's max(min(50, N), floor(0.05 N) + 1), capped at 2000"},
      {"ctrl_idx", "", "a file of global cell indices (one per line) to use as control points instead of sampling"},
      {"a", "5", "outlier model: uniform outlier density 1/a"},
      {"beta", "auto", "Gaussian kernel exp(-beta |x - y|^2); auto: dynamo's bandwidth rule over the control points"},
      {"ecr", "1e-5", "stop when the energy's relative change falls to this"},
      {"gamma", "0.9", "initial inlier fraction"},
      {"lambda_", "3", "regularisation weight of the field's RKHS norm"},
      {"minP", "1e-5", "floor of the inlier posterior in the M-step"},
      {"MaxIter", "30", "maximum EM iterations"},
      {"theta", "0.75", "a cell with posterior above theta is an inlier (gamma update, VFCIndex)"},
      {"seed", "0", "seed of the control-point sampling (keyed by global cell index: the same at any rank count)"},
      {"velocity_based_sampling", "true", "draw control points with probability proportional to speed (false: uniformly)"},
      {"min_vel_corr", "0.6", "refit with new control points while the mean cosine between velocities and fit is below this"},
      {"restart_num", "5", "fits tried at most (each refit draws new control points: seed + 100 k)"},
      {"lstsq_method", "cholesky", "M-step solver: cholesky (stable, L C = R) or drouin (dynamo's squared normal equations)"},
      {"grid_num", "50", "grid points per dimension for uns VecFld_<basis>/grid_V (fields of dimension < 4)"},
      {"vector_calculus", "true", "write divergence, curl (2-D/3-D), acceleration and curvature per cell"},
      {"jacobian_cells", "", "global cell indices whose Jacobians go to uns jacobian_<basis> (never all cells by default)"},
      {"regulators", "", "genes (var names, basis pca: loadings from uns PCs) whose effect on the effectors' velocity "
                         "goes to uns jacobian_<basis>/jacobian_gene = q_e J q_r, at jacobian_cells (or every cell)"},
      {"effectors", "", "effector genes of jacobian_gene (default: the regulators)"},
      {"uns_cell_arrays", "auto", "also copy X, Y, V, P, valid_ind, VFCIndex into uns VecFld_<basis> as dynamo does "
                                  "(replicated on every rank): auto (up to 200,000 cells), true or false"},
      {"kernel_cache_gb", "4", "GiB per rank the kernel block U (cells x M) may keep between EM iterations; beyond, "
                               "its chunks are recomputed on every pass"},
  };
  s.run = run_vectorfield;
  return s;
}

}  // namespace velofield
