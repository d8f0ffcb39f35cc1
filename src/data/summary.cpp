#include "data/summary.hpp"

#include <mpi.h>

#include <cstdio>
#include <sstream>

namespace velofield {

namespace {
template <class Map>
std::string quoted_keys(const Map& m) {
  std::string out;
  for (const auto& kv : m) out += (out.empty() ? "'" : ", '") + kv.first + "'";
  return out;
}

std::string quoted(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "'" : ", '") + s + "'";
  return out;
}

int64_t global_sum(MPI_Comm comm, int64_t v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT64_T, MPI_SUM, comm);
  return v;
}

std::string shape_text(int64_t r, int64_t c) { return std::to_string(r) + " × " + std::to_string(c); }

// Distributed matrix line; nnz summed over ranks (collective).
std::string matrix_line(MPI_Comm comm, const std::string& key, const Matrix& m, int64_t global_rows) {
  char line[256];
  if (auto* c = std::get_if<CsrMatrix>(&m)) {
    const int64_t nnz = global_sum(comm, c->nnz());
    const double density = global_rows * c->cols > 0 ? 100.0 * static_cast<double>(nnz) / (static_cast<double>(global_rows) * static_cast<double>(c->cols)) : 0.0;
    std::snprintf(line, sizeof line, "  %-28s csr    %-8s %-16s nnz %lld (%.2f%%)", key.c_str(), dtype_name(c->data.dtype()),
                  shape_text(global_rows, c->cols).c_str(), static_cast<long long>(nnz), density);
  } else {
    const auto& d = std::get<DenseArray>(m);
    std::string shape = std::to_string(global_rows);
    for (size_t i = 1; i < d.shape.size(); ++i) shape += " × " + std::to_string(d.shape[i]);
    std::snprintf(line, sizeof line, "  %-28s dense  %-8s %s", key.c_str(), dtype_name(d.values.dtype()), shape.c_str());
  }
  return line;
}

std::string replicated_line(const std::string& key, const Matrix& m) {
  char line[256];
  if (auto* c = std::get_if<CsrMatrix>(&m)) {
    std::snprintf(line, sizeof line, "  %-28s csr    %-8s %-16s nnz %lld", key.c_str(), dtype_name(c->data.dtype()),
                  shape_text(c->rows, c->cols).c_str(), static_cast<long long>(c->nnz()));
  } else {
    const auto& d = std::get<DenseArray>(m);
    std::string shape;
    for (size_t i = 0; i < d.shape.size(); ++i) shape += (i ? " × " : "") + std::to_string(d.shape[i]);
    std::snprintf(line, sizeof line, "  %-28s dense  %-8s %s", key.c_str(), dtype_name(d.values.dtype()), shape.c_str());
  }
  return line;
}

std::string column_line(const std::string& key, const Column& c, int64_t rows) {
  char line[256];
  std::string kind = column_kind_name(c.kind);
  std::string dtype = c.kind == Column::Kind::string ? "str" : dtype_name(c.values.dtype());
  if (c.kind == Column::Kind::categorical)
    kind += " (" + std::to_string(c.categories_numeric ? c.numeric_categories.size() : c.categories.size()) + " categories)";
  std::snprintf(line, sizeof line, "  %-28s %-30s %-8s %lld", key.c_str(), kind.c_str(), dtype.c_str(), static_cast<long long>(rows));
  return line;
}

void uns_lines(std::ostringstream& s, const UnsNode& node, const std::string& path) {
  for (const auto& [k, child] : node.children) {
    const std::string p = path + "/" + k;
    char line[256];
    switch (child.kind) {
      case UnsNode::Kind::dict: uns_lines(s, child, p); break;
      case UnsNode::Kind::string: std::snprintf(line, sizeof line, "  %-28s string   '%.40s'", p.c_str(), child.text.c_str()); s << line << "\n"; break;
      case UnsNode::Kind::string_array: std::snprintf(line, sizeof line, "  %-28s strings  %zu", p.c_str(), child.strings.size()); s << line << "\n"; break;
      case UnsNode::Kind::numeric:
        if (child.array.shape.empty()) {
          std::snprintf(line, sizeof line, "  %-28s scalar   %-8s %g", p.c_str(), dtype_name(child.array.values.dtype()), child.array.values.as_double(0));
          s << line << "\n";
        } else {
          s << replicated_line(p, child.array) << "\n";
        }
        break;
      case UnsNode::Kind::sparse: s << replicated_line(p, child.sparse) << "\n"; break;
      case UnsNode::Kind::dataframe: std::snprintf(line, sizeof line, "  %-28s dataframe %lld rows", p.c_str(), static_cast<long long>(child.frame.rows())); s << line << "\n"; break;
    }
  }
}
}  // namespace

std::string summarize(const Dataset& d) {
  std::ostringstream s;
  s << "AnnData object with n_obs × n_vars = " << d.n_obs << " × " << d.n_vars << "\n";
  if (!d.obs.column_order.empty()) s << "    obs: " << quoted(d.obs.column_order) << "\n";
  if (!d.var.column_order.empty()) s << "    var: " << quoted(d.var.column_order) << "\n";
  if (!d.uns.children.empty()) s << "    uns: " << quoted_keys(d.uns.children) << "\n";
  if (!d.obsm.empty()) s << "    obsm: " << quoted_keys(d.obsm) << "\n";
  if (!d.varm.empty()) s << "    varm: " << quoted_keys(d.varm) << "\n";
  if (!d.layers.empty()) s << "    layers: " << quoted_keys(d.layers) << "\n";
  if (!d.obsp.empty()) s << "    obsp: " << quoted_keys(d.obsp) << "\n";
  if (!d.varp.empty()) s << "    varp: " << quoted_keys(d.varp) << "\n";
  s << "\nslots (kind, dtype, shape):\n";
  if (d.X) s << matrix_line(d.comm, "X", *d.X, d.n_obs) << "\n";
  for (const auto& [k, m] : d.layers) s << matrix_line(d.comm, "layers/" + k, m, d.n_obs) << "\n";
  for (const auto& [k, m] : d.obsm) s << matrix_line(d.comm, "obsm/" + k, m, d.n_obs) << "\n";
  for (const auto& [k, m] : d.obsp) {
    const int64_t nnz = global_sum(d.comm, m.local_nnz());
    char line[256];
    std::snprintf(line, sizeof line, "  %-28s csr    %-8s %-16s nnz %lld (PETSc AIJ)", ("obsp/" + k).c_str(),
                  dtype_name(m.file_dtype()), shape_text(m.global_rows(), m.global_cols()).c_str(), static_cast<long long>(nnz));
    s << line << "\n";
  }
  for (const auto& [k, m] : d.varm) s << replicated_line("varm/" + k, m) << "\n";
  for (const auto& [k, m] : d.varp) s << replicated_line("varp/" + k, m) << "\n";
  for (const auto& k : d.obs.column_order) s << column_line("obs/" + k, d.obs.columns.at(k), d.n_obs) << "\n";
  for (const auto& k : d.var.column_order) s << column_line("var/" + k, d.var.columns.at(k), d.n_vars) << "\n";
  uns_lines(s, d.uns, "uns");
  if (d.raw) s << matrix_line(d.comm, "raw/X", d.raw->X, d.n_obs) << "\n";
  return s.str();
}

}  // namespace velofield
