#include "plot/embedding_plot.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "plot/topography_slots.hpp"
#include "rkhs_field.hpp"
#include "transition/grid_velocity.hpp"

namespace velofield::plot {

namespace {

template <class Map>
std::string keys_with_prefix(const Map& m, const std::string& prefix) {
  std::string out;
  for (const auto& [k, v] : m)
    if (k.rfind(prefix, 0) == 0) out += (out.empty() ? "" : ", ") + k.substr(prefix.size());
  return out.empty() ? "none" : out;
}

// Every rank's doubles, concatenated in rank order, on rank 0 (empty elsewhere).
std::vector<double> gather_to_root(MPI_Comm comm, const std::vector<double>& local) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  int count = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<size_t>(ranks)), displs(static_cast<size_t>(ranks), 0);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  std::vector<double> all;
  if (rank == 0) {
    for (int r = 1; r < ranks; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
    all.resize(static_cast<size_t>(displs.back() + counts.back()));
  }
  MPI_Gatherv(local.data(), count, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0, comm);
  return all;
}

double cell(const DenseArray& a, int64_t row, int64_t col) { return a.values.as_double(static_cast<size_t>(row * a.row_stride() + col)); }

// {X_grid (2, n), V_grid (2, n, n)} (dynamo's velocity_on_grid layout, V_grid[c][y][x]) as a GridField.
GridField field_from_grid_node(const UnsNode& g, const std::string& where) {
  if (g.kind != UnsNode::Kind::dict || !g.children.count("X_grid") || !g.children.count("V_grid"))
    throw Error(where + ": expected a dict with X_grid and V_grid");
  const UnsNode &xg = g.children.at("X_grid"), &vg = g.children.at("V_grid");
  if (xg.kind != UnsNode::Kind::numeric || xg.array.shape.size() != 2 || xg.array.shape[0] != 2 || xg.array.shape[1] < 2)
    throw Error(where + "/X_grid: expected a numeric (2, n) array of the grid's axes");
  const int64_t m = xg.array.shape[1];
  if (vg.kind != UnsNode::Kind::numeric || vg.array.shape != std::vector<int64_t>{2, m, m})
    throw Error(where + "/V_grid: expected a numeric (2, " + std::to_string(m) + ", " + std::to_string(m) + ") array");
  const std::vector<double> x = xg.array.values.to_double(), v = vg.array.values.to_double();
  GridField f;
  f.nx = f.ny = m;
  f.x0 = x[0];
  f.x1 = x[static_cast<size_t>(m - 1)];
  f.y0 = x[static_cast<size_t>(m)];
  f.y1 = x[static_cast<size_t>(2 * m - 1)];
  if (!(f.x1 > f.x0) || !(f.y1 > f.y0)) throw Error(where + "/X_grid: the axes must increase");
  f.u.assign(v.begin(), v.begin() + m * m);
  f.v.assign(v.begin() + m * m, v.end());
  return f;
}

bool vecfld_has_function(const UnsNode& vf) {
  return vf.children.count("X_ctrl") && vf.children.count("C") && vf.children.count("beta");
}
bool vecfld_has_grid(const UnsNode& vf) { return vf.children.count("grid") && vf.children.count("grid_V"); }

// The fitted SparseVFC field on an m × m grid over [x0, x1] × [y0, y1], or its stored grid.
GridField field_from_vecfld(const UnsNode& vf, const std::string& where, const std::array<double, 4>& extent, int64_t m) {
  GridField f;
  if (vecfld_has_function(vf)) {
    const UnsNode &ctrl = vf.children.at("X_ctrl"), &coef = vf.children.at("C"), &beta = vf.children.at("beta");
    if (ctrl.kind != UnsNode::Kind::numeric || ctrl.array.shape.size() != 2 || ctrl.array.shape[1] != 2)
      throw Error(where + "/X_ctrl: expected (M, 2) control points (streamlines need a 2-D field)");
    if (coef.kind != UnsNode::Kind::numeric || coef.array.shape != ctrl.array.shape) throw Error(where + "/C: expected the shape of X_ctrl");
    if (beta.kind != UnsNode::Kind::numeric || beta.array.values.size() != 1) throw Error(where + "/beta: expected a number");
    const std::vector<double> c = ctrl.array.values.to_double(), k = coef.array.values.to_double();
    f.nx = f.ny = m;
    f.x0 = extent[0]; f.x1 = extent[1]; f.y0 = extent[2]; f.y1 = extent[3];
    std::vector<double> points(static_cast<size_t>(2 * m * m)), values(points.size());
    for (int64_t j = 0; j < m; ++j)
      for (int64_t i = 0; i < m; ++i) {
        points[static_cast<size_t>(2 * (j * m + i))] = f.x0 + (f.x1 - f.x0) * static_cast<double>(i) / static_cast<double>(m - 1);
        points[static_cast<size_t>(2 * (j * m + i) + 1)] = f.y0 + (f.y1 - f.y0) * static_cast<double>(j) / static_cast<double>(m - 1);
      }
    kernels::rkhs_field_values({ctrl.array.shape[0], 2, c.data(), k.data(), beta.array.values.as_double(0)}, m * m, points.data(), values.data());
    f.u.resize(static_cast<size_t>(m * m));
    f.v.resize(f.u.size());
    for (size_t p = 0; p < f.u.size(); ++p) {
      f.u[p] = values[2 * p];
      f.v[p] = values[2 * p + 1];
    }
    return f;
  }
  // dynamo's stored grid: the points of numpy.meshgrid flattened, x varying fastest.
  const UnsNode &g = vf.children.at("grid"), &gv = vf.children.at("grid_V");
  if (g.kind != UnsNode::Kind::numeric || g.array.shape.size() != 2 || g.array.shape[1] != 2 || gv.kind != UnsNode::Kind::numeric ||
      gv.array.shape != g.array.shape)
    throw Error(where + "/grid, grid_V: expected two (g², 2) arrays");
  const int64_t points = g.array.shape[0], side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(points))));
  if (side * side != points || side < 2) throw Error(where + "/grid: " + std::to_string(points) + " points is not a square grid");
  const std::vector<double> x = g.array.values.to_double(), v = gv.array.values.to_double();
  f.nx = f.ny = side;
  f.x0 = x[0];
  f.x1 = x[static_cast<size_t>(2 * (side - 1))];
  f.y0 = x[1];
  f.y1 = x[static_cast<size_t>(2 * side * (side - 1) + 1)];
  if (!(f.x1 > f.x0) || !(f.y1 > f.y0)) throw Error(where + "/grid: expected numpy.meshgrid's order (x varies fastest, both increasing)");
  for (int64_t p = 0; p < points; ++p) {
    f.u.push_back(v[static_cast<size_t>(2 * p)]);
    f.v.push_back(v[static_cast<size_t>(2 * p + 1)]);
  }
  return f;
}

// Closes grid nodes with fewer than min_cells cells in their 3 × 3 neighbourhood of grid squares.
void close_empty_nodes(GridField& f, const std::vector<double>& xy, double min_cells) {
  if (!(min_cells > 0)) return;
  const double dx = (f.x1 - f.x0) / static_cast<double>(f.nx - 1), dy = (f.y1 - f.y0) / static_cast<double>(f.ny - 1);
  std::vector<double> count(static_cast<size_t>(f.nx * f.ny), 0.0);
  for (size_t k = 0; k + 1 < xy.size(); k += 2) {
    if (!std::isfinite(xy[k]) || !std::isfinite(xy[k + 1])) continue;
    const double i = std::round((xy[k] - f.x0) / dx), j = std::round((xy[k + 1] - f.y0) / dy);   // nearest node
    if (i < 0 || j < 0 || i > static_cast<double>(f.nx - 1) || j > static_cast<double>(f.ny - 1)) continue;
    count[static_cast<size_t>(static_cast<int64_t>(j) * f.nx + static_cast<int64_t>(i))] += 1;
  }
  for (int64_t j = 0; j < f.ny; ++j)
    for (int64_t i = 0; i < f.nx; ++i) {
      double around = 0;
      for (int64_t b = std::max<int64_t>(0, j - 1); b <= std::min(f.ny - 1, j + 1); ++b)
        for (int64_t a = std::max<int64_t>(0, i - 1); a <= std::min(f.nx - 1, i + 1); ++a) around += count[static_cast<size_t>(b * f.nx + a)];
      if (around < min_cells) f.u[static_cast<size_t>(j * f.nx + i)] = std::nan("");
    }
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string piece = trim(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!piece.empty()) out.push_back(piece);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The categories' colours: uns <key>_colors (scanpy's) where it has one #rrggbb per category, else the
// palette; then --color_key, a full list in category order or name=#rrggbb pairs over the defaults.
std::vector<Rgb> category_colors(const Dataset& d, const std::string& key, const std::vector<std::string>& names,
                                 const std::string& color_key) {
  std::vector<Rgb> colors;
  for (size_t k = 0; k < names.size(); ++k) colors.push_back(category_color(k));
  const std::string uns_key = key + "_colors";
  if (d.uns.kind == UnsNode::Kind::dict && d.uns.children.count(uns_key)) {
    const UnsNode& u = d.uns.children.at(uns_key);
    bool usable = u.kind == UnsNode::Kind::string_array && u.strings.size() >= names.size();
    std::vector<Rgb> from_uns;
    for (size_t k = 0; usable && k < names.size(); ++k) {
      try {
        from_uns.push_back(Rgb::hex(u.strings[k]));
      } catch (const Error&) {
        usable = false;
      }
    }
    if (usable) colors = from_uns;
    else log().warn(d.source + ": uns/" + uns_key + ": not one #rrggbb colour per category; using the default palette");
  }
  if (color_key.empty()) return colors;
  const std::vector<std::string> items = split_commas(color_key);
  const bool named = !items.empty() && items[0].find('=') != std::string::npos;
  if (!named && items.size() < names.size())
    throw Error("--color_key: " + std::to_string(items.size()) + " colours for the " + std::to_string(names.size()) +
                " categories of obs/" + key + " (give one per category, or name=#rrggbb pairs)");
  for (size_t k = 0; k < items.size(); ++k) {
    if (!named) {
      if (k < names.size()) colors[k] = Rgb::hex(items[k]);
      continue;
    }
    const size_t eq = items[k].rfind('=');
    if (eq == std::string::npos) throw Error("--color_key: '" + items[k] + "': expected name=#rrggbb");
    const std::string name = trim(items[k].substr(0, eq));
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string known;
      for (const auto& nm : names) known += (known.empty() ? "" : ", ") + nm;
      throw Error("--color_key: '" + name + "' is not a category of obs/" + key + " (categories: " + known + ")");
    }
    colors[static_cast<size_t>(it - names.begin())] = Rgb::hex(trim(items[k].substr(eq + 1)));
  }
  return colors;
}

struct Resolved {
  std::string x_key, velocity_key;
  FieldSource field = FieldSource::automatic;
  const Column* column = nullptr;
  bool categorical = false;
  std::vector<std::string> names;
  std::vector<Rgb> colors;
  std::optional<Topography> topography;
};

Resolved resolve(const Dataset& d, const EmbeddingPlotRequest& r) {
  Resolved s;
  const std::string& file = d.source;
  s.x_key = "X_" + r.basis;
  if (!d.obsm.count(s.x_key)) {
    const std::string suffix = "_perturbation";
    const bool perturbation = r.basis.size() > suffix.size() && r.basis.compare(r.basis.size() - suffix.size(), suffix.size(), suffix) == 0;
    const std::string stem = perturbation ? "X_" + r.basis.substr(0, r.basis.size() - suffix.size()) : "";
    if (perturbation && d.obsm.count(stem)) s.x_key = stem;   // dynamo's X_umap_perturbation is a copy of X_umap
    else fail(file, "obsm/" + s.x_key, "not present: no embedding '" + r.basis + "' (this file has embeddings: " + keys_with_prefix(d.obsm, "X_") + ")");
  }
  const Matrix& xm = d.obsm.at(s.x_key);
  if (!std::holds_alternative<DenseArray>(xm)) fail(file, "obsm/" + s.x_key, "expected a dense array");
  const int64_t columns = matrix_cols(xm);
  for (int64_t c : r.components)
    if (c < 0 || c >= columns)
      fail(file, "obsm/" + s.x_key, "has " + std::to_string(columns) + " columns; --components asks for column " + std::to_string(c + 1));
  if (r.components[0] == r.components[1]) fail(file, "obsm/" + s.x_key, "--components names the same column twice");

  if (!r.color.empty()) {
    if (!d.obs.has(r.color)) {
      std::string known;
      for (const auto& name : d.obs.column_order) known += (known.empty() ? "" : ", ") + name;
      fail(file, "obs/" + r.color, "no such obs column to colour by (this file has: " + (known.empty() ? "none" : known) + ")");
    }
    s.column = &d.obs.columns.at(r.color);
    s.categorical = s.column->kind == Column::Kind::categorical;
    if (s.categorical) {
      if (s.column->categories_numeric)
        for (size_t k = 0; k < s.column->numeric_categories.size(); ++k) {
          char b[64];
          std::snprintf(b, sizeof b, "%g", s.column->numeric_categories.as_double(k));
          s.names.push_back(b);
        }
      else
        s.names = s.column->categories;
      try {
        s.colors = category_colors(d, r.color, s.names, r.color_key);
      } catch (const Error& e) {
        fail(file, "obs/" + r.color, e.what());
      }
    } else if (s.column->kind != Column::Kind::numeric && s.column->kind != Column::Kind::nullable_integer &&
               s.column->kind != Column::Kind::nullable_boolean) {
      fail(file, "obs/" + r.color, std::string("a ") + column_kind_name(s.column->kind) + " column: colour by a categorical or numeric column");
    }
  }

  if (r.kind == PlotKind::topography) {
    const std::string key = "VecFld_" + r.basis;
    const std::string slot = (file.empty() ? "" : file + ": ") + "uns/" + key;
    if (!d.uns.contains(key)) fail(file, "uns/" + key, "not present: topography-plot needs the vector field and its topography (run vectorfield and topography with basis " + r.basis + ")");
    s.topography = read_topography(d.uns.at(key), slot);
    if (!s.topography) fail(file, "uns/" + key + "/Xss", "not present: no fixed points (run the topography stage with basis " + r.basis + ")");
  }

  if (r.kind == PlotKind::scatter) return s;
  s.velocity_key = r.velocity_key.empty() ? "velocity_" + r.basis : r.velocity_key;
  const bool first_two = r.components[0] == 0 && r.components[1] == 1;
  const std::string vf_key = "VecFld_" + r.basis, grid_key = "grid_velocity_" + r.basis;
  const bool has_vecfld = d.uns.contains(vf_key) && (vecfld_has_function(d.uns.at(vf_key)) || vecfld_has_grid(d.uns.at(vf_key)));
  const bool has_grid = d.uns.contains(grid_key);
  s.field = r.field;
  if (s.field == FieldSource::automatic) {
    if (r.kind == PlotKind::topography && has_vecfld && first_two) s.field = FieldSource::vecfld;
    else if (has_grid && first_two) s.field = FieldSource::grid;
    else s.field = FieldSource::cells;
  }
  if (s.field != FieldSource::cells && !first_two)
    fail(file, "uns/" + (s.field == FieldSource::grid ? grid_key : vf_key), "holds the field of columns 1 and 2 only; use --field cells for --components other than 1,2");
  if (s.field == FieldSource::grid && !has_grid)
    fail(file, "uns/" + grid_key, "not present (--field grid); run cell-velocities with basis " + r.basis + ", or use --field cells");
  if (s.field == FieldSource::vecfld && !has_vecfld)
    fail(file, "uns/" + vf_key, "no fitted field (X_ctrl, C, beta) or grid (grid, grid_V) (--field vecfld); run vectorfield with basis " + r.basis);
  if (s.field == FieldSource::cells) {
    if (!d.obsm.count(s.velocity_key))
      fail(file, "obsm/" + s.velocity_key, "not present: streamlines need the embedding velocity (run cell-velocities with basis " + r.basis +
                                               "; this file has obsm: " + keys_with_prefix(d.obsm, "") + ")");
    const Matrix& vm = d.obsm.at(s.velocity_key);
    if (!std::holds_alternative<DenseArray>(vm) || matrix_cols(vm) != columns)
      fail(file, "obsm/" + s.velocity_key, "expected a dense array with the " + std::to_string(columns) + " columns of obsm/" + s.x_key);
  }
  return s;
}

}  // namespace

FigureReport plot_embedding(const Dataset& d, const EmbeddingPlotRequest& r, const std::string& path) {
  Resolved s;
  agree_on(d.comm, [&] { s = resolve(d, r); });

  // The rank's rows: x, y and the colour value (category code or number).
  const DenseArray& X = std::get<DenseArray>(d.obsm.at(s.x_key));
  std::vector<double> local;
  local.reserve(static_cast<size_t>(3 * d.n_obs_local));
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    local.push_back(cell(X, i, r.components[0]));
    local.push_back(cell(X, i, r.components[1]));
    double value = std::nan("");
    if (s.column) {
      const bool masked = !s.column->mask.empty() && s.column->mask[static_cast<size_t>(i)];
      value = masked ? std::nan("") : s.column->values.as_double(static_cast<size_t>(i));
    }
    local.push_back(value);
  }

  // The transition stage's grid velocity from the cells' embedding velocities (collective).
  std::optional<GridField> cells_field;
  if (r.kind != PlotKind::scatter && s.field == FieldSource::cells) {
    const DenseArray& V = std::get<DenseArray>(d.obsm.at(s.velocity_key));
    DenseArray e2 = DenseArray::zeros({d.n_obs_local, 2}), v2 = DenseArray::zeros({d.n_obs_local, 2});
    double* e = e2.values.data<double>();
    double* v = v2.values.data<double>();
    for (int64_t i = 0; i < d.n_obs_local; ++i)
      for (int k = 0; k < 2; ++k) {
        e[2 * i + k] = cell(X, i, r.components[static_cast<size_t>(k)]);
        v[2 * i + k] = cell(V, i, r.components[static_cast<size_t>(k)]);
      }
    GridVelocityOptions go;
    go.points_per_axis = r.xy_grid_nums;
    GridVelocityReport gr;
    const UnsNode g = grid_velocity(d, e2, v2, go, gr);
    if (g.children.empty()) log().warn(d.source + ": obsm/" + s.velocity_key + ": no cell has a finite velocity: no streamlines");
    else cells_field = field_from_grid_node(g, "grid velocity");
  }

  const std::vector<double> all = gather_to_root(d.comm, local);
  FigureReport report;
  bool ok = true;
  std::string message;
  if (d.rank() == 0) {
    try {
      const int64_t n = static_cast<int64_t>(all.size() / 3);
      EmbeddingFigure fig;
      fig.xy.resize(static_cast<size_t>(2 * n));
      for (int64_t i = 0; i < n; ++i) {
        fig.xy[static_cast<size_t>(2 * i)] = all[static_cast<size_t>(3 * i)];
        fig.xy[static_cast<size_t>(2 * i + 1)] = all[static_cast<size_t>(3 * i + 1)];
      }
      std::string label = s.x_key.substr(2);   // the embedding drawn (umap for umap_perturbation without its own copy)
      for (char& ch : label) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      fig.x_label = label + std::to_string(r.components[0] + 1);
      fig.y_label = label + std::to_string(r.components[1] + 1);
      if (s.column && s.categorical) {
        CategoryColoring cc{r.color, s.names, s.colors, {}};
        for (int64_t i = 0; i < n; ++i) {
          const double code = all[static_cast<size_t>(3 * i + 2)];
          cc.codes.push_back(std::isfinite(code) ? static_cast<int32_t>(code) : -1);
        }
        fig.categories = std::move(cc);
      } else if (s.column) {
        ValueColoring vc{r.color, {}};
        for (int64_t i = 0; i < n; ++i) vc.values.push_back(all[static_cast<size_t>(3 * i + 2)]);
        fig.values = std::move(vc);
      }
      fig.topography = s.topography;
      bool any_finite = false;
      for (size_t k = 0; k + 1 < fig.xy.size() && !any_finite; k += 2) any_finite = std::isfinite(fig.xy[k]) && std::isfinite(fig.xy[k + 1]);
      if (!any_finite) fail(d.source, "obsm/" + s.x_key, "no cell has finite coordinates: nothing to plot");
      if (r.kind != PlotKind::scatter) {
        const std::string where = d.source + ": uns/";
        if (s.field == FieldSource::cells) fig.field = cells_field;
        else if (s.field == FieldSource::grid) fig.field = field_from_grid_node(d.uns.at("grid_velocity_" + r.basis), where + "grid_velocity_" + r.basis);
        else fig.field = field_from_vecfld(d.uns.at("VecFld_" + r.basis), where + "VecFld_" + r.basis, figure_extent(fig), r.xy_grid_nums);
        if (fig.field) close_empty_nodes(*fig.field, fig.xy, r.min_cells);
      }
      FigureOptions fo = r.figure;
      fo.title = r.title ? *r.title : r.color;
      report = draw_embedding_figure(path, fig, fo);
    } catch (const std::exception& e) {
      ok = false;
      message = e.what();
    }
  }
  agree(d.comm, ok, message);
  return report;
}

}  // namespace velofield::plot
