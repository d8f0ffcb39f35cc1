#include "topography/topography_stage.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include "plot/topography_slots.hpp"
#include "topography/topography_map.hpp"
#include "vectorfield/fitted_field.hpp"

namespace velofield {

namespace {

std::string option(const StageConfig& sc, const std::string& key) { return sc.config().where(sc.section(), key); }

int64_t count_option(const StageConfig& sc, const std::string& key, int64_t minimum) {
  const long long v = sc.get_int(key);
  if (v < minimum) throw Error(option(sc, key) + ": expected an integer >= " + std::to_string(minimum) + ", found " + std::to_string(v));
  return v;
}

double positive_option(const StageConfig& sc, const std::string& key) {
  const double v = sc.get_double(key);
  if (!(v > 0) || !std::isfinite(v)) throw Error(option(sc, key) + ": expected a positive number, found " + sc.get_string(key));
  return v;
}

UnsNode numeric(std::vector<int64_t> shape, const std::vector<double>& values) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(values);
  return UnsNode::numeric(std::move(a));
}

void run_topography(Dataset& d, const StageConfig& sc) {
  TopographyOptions o;
  const std::string basis = sc.get_string("basis");
  if (basis.empty()) throw Error(option(sc, "basis") + ": is empty (an embedding name: umap, pca, ...)");
  o.lhs_starts = count_option(sc, "n", 0);
  o.cell_starts = count_option(sc, "cell_starts", 0);
  if (o.lhs_starts + o.cell_starts == 0) throw Error(option(sc, "n") + ": n and cell_starts are both 0: no starts for the root search");
  const long long seed = sc.get_int("seed");
  if (seed < 0) throw Error(option(sc, "seed") + ": expected a non-negative integer");
  o.seed = static_cast<uint64_t>(seed);
  o.nullcline_grid = count_option(sc, "nullcline_grid", 3);
  o.root_tol = positive_option(sc, "root_tol");
  o.duplicate_tol = positive_option(sc, "duplicate_tol");
  o.padding = sc.get_double("padding");
  if (!(o.padding >= 0) || !std::isfinite(o.padding)) throw Error(option(sc, "padding") + ": expected a non-negative fraction");
  o.confidence_neighbors = count_option(sc, "confidence_neighbors", 1);
  o.separatrices = sc.get_bool("separatrices");

  // Inputs, checked on every rank and agreed: the fitted field and the cells' coordinates.
  FittedField fitted;
  std::vector<double> cells;
  const std::string key = "X_" + basis;
  agree_on(d.comm, [&] {
    fitted = fitted_field(d, basis);
    const DenseArray& e = d.obsm_dense(key);
    if (e.shape.size() != 2 || e.row_stride() != fitted.dim)
      fail(d.source, "obsm/" + key, "has " + std::to_string(e.row_stride()) + " columns but uns/VecFld_" + basis + " is a " +
                                        std::to_string(fitted.dim) + "-D field");
    cells = e.values.to_double();
    for (size_t k = 0; k < cells.size(); ++k)
      if (!std::isfinite(cells[k]))
        fail(d.source, "obsm/" + key, "cell " + std::to_string(d.obs_begin + static_cast<int64_t>(k) / fitted.dim) +
                                          " has a non-finite coordinate; the domain and the starts need finite positions");
  });
  const int64_t D = fitted.dim;
  const RkhsFieldFunction field(fitted.view());
  log().info(cat("topography: ", D, "-D field uns/VecFld_", basis, " (", fitted.M, " control points); starts: ", o.lhs_starts,
                 " Latin-hypercube + up to ", o.cell_starts, " cells", D == 2 ? " + nullcline crossings" : ""));
  const TopographyResult t = map_topography(d.comm, field, d.n_obs_local, cells.data(), d.obs_begin, d.n_obs, o);

  int counts[6] = {0, 0, 0, 0, 0, 0};
  for (const auto& p : t.points) ++counts[static_cast<int>(p.kind)];
  log().info(cat("topography: ", t.starts, " starts, ", t.converged, " converged, ", t.points.size(), " fixed points inside the domain: ",
                 counts[0], " stable nodes, ", counts[1], " stable spirals, ", counts[2], " saddles, ", counts[3], " unstable nodes, ",
                 counts[4], " unstable spirals, ", counts[5], " centres"));
  if (D == 2)
    log().info(cat("topography: nullclines ", t.nullclines.x_curves.size(), " (f_x = 0) and ", t.nullclines.y_curves.size(),
                   " (f_y = 0) pieces on a ", o.nullcline_grid, "² grid; ", t.separatrices.size(), " separatrices"));
  for (const auto& p : t.points) {
    std::string where, eig;
    for (double v : p.x) where += (where.empty() ? "" : ", ") + std::to_string(v);
    for (const auto& w : p.eigenvalues) eig += (eig.empty() ? "" : ", ") + std::to_string(w.real()) + (w.imag() != 0 ? cat(w.imag() > 0 ? "+" : "", w.imag(), "i") : "");
    log().detail(cat("topography: ", fixed_point_kind_name(p.kind), " at (", where, "), |f| = ", p.residual, ", eigenvalues ", eig,
                     ", confidence ", p.confidence));
  }
  if (t.points.empty()) log().warn("topography: no fixed point found in the domain (dynamo raises an error here)");

  // Into uns VecFld_<basis>, in dynamo's names (spec 6.7), plus the evidence for each point.
  UnsNode& vf = d.uns["VecFld_" + basis];
  plot::Topography slots;
  const int64_t n = static_cast<int64_t>(t.points.size());
  std::vector<double> conf, residual, eigs, jac;
  std::vector<std::string> kinds;
  for (const auto& p : t.points) {
    slots.fixed_points.insert(slots.fixed_points.end(), p.x.begin(), p.x.end());
    slots.types.push_back(p.type);
    conf.push_back(p.confidence);
    residual.push_back(p.residual);
    kinds.emplace_back(fixed_point_kind_name(p.kind));
    for (const auto& w : p.eigenvalues) {
      eigs.push_back(w.real());
      eigs.push_back(w.imag());
    }
    jac.insert(jac.end(), p.jacobian.begin(), p.jacobian.end());
  }
  if (D == 2) {
    slots.x_nullclines = t.nullclines.x_curves;
    slots.y_nullclines = t.nullclines.y_curves;
    slots.separatrices = t.separatrices;
    slots.xlim = std::array<double, 2>{t.lo[0], t.hi[0]};
    slots.ylim = std::array<double, 2>{t.lo[1], t.hi[1]};
    plot::write_topography(vf, slots);
  } else {
    // write_topography stores 2-D points; N-D fixed points keep their dimension here.
    vf["Xss"] = numeric({n, D}, slots.fixed_points);
    DenseArray types;
    types.shape = {n};
    types.values = Array::from(std::vector<int64_t>(slots.types.begin(), slots.types.end()));
    vf["ftype"] = UnsNode::numeric(std::move(types));
    std::vector<double> domain;
    for (int64_t q = 0; q < D; ++q) {
      domain.push_back(t.lo[static_cast<size_t>(q)]);
      domain.push_back(t.hi[static_cast<size_t>(q)]);
    }
    vf["domain"] = numeric({D, 2}, domain);
  }
  vf["confidence"] = numeric({n}, conf);
  vf["fp_residual"] = numeric({n}, residual);
  vf["fp_eigenvalues"] = numeric({n, D, 2}, eigs);
  vf["fp_jacobian"] = numeric({n, D, D}, jac);
  vf["fp_kind"] = UnsNode::string_array(kinds);
}

}  // namespace

Stage topography_stage() {
  Stage s;
  s.name = "topography";
  s.summary =
      "Fixed points (Newton/Levenberg-Marquardt with the analytic Jacobian from Latin-hypercube, cell and nullcline-crossing "
      "starts; classified by the Jacobian's eigenvalues), nullclines and separatrices (2-D) of the field in uns "
      "VecFld_<basis> (dyn.vf.topography): writes Xss, ftype, confidence, NCx, NCy, separatrices, xlim, ylim, fp_kind, "
      "fp_eigenvalues, fp_residual, fp_jacobian into uns VecFld_<basis>.";
  s.keys = {
      {"basis", "umap", "the fitted field uns VecFld_<basis> and its cells obsm X_<basis>"},
      {"n", "100", "Latin-hypercube starts over the domain (dynamo's n, 25 there)"},
      {"cell_starts", "1000", "cells used as starts too (every k-th cell by global index)"},
      {"seed", "19491001", "seed of the Latin hypercube (dynamo's)"},
      {"nullcline_grid", "200", "2-D: grid points per axis for marching-squares nullclines (their crossings are starts too)"},
      {"root_tol", "1e-8", "a root is accepted when |f| <= root_tol × the largest |f| at the starts"},
      {"duplicate_tol", "1e-5", "roots closer than duplicate_tol × the domain diagonal are one fixed point"},
      {"padding", "0.1", "domain margin per side as a fraction of the cells' range (dynamo: 10%)"},
      {"confidence_neighbors", "50", "cells whose mean distance gives a fixed point's confidence (dynamo: 50)"},
      {"separatrices", "true", "2-D: integrate the stable manifolds of the saddles backward (dynamo stores None)"},
  };
  s.run = run_topography;
  return s;
}

}  // namespace velofield
