#include "velocity/import_velocity_stage.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <unordered_map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "data/row_exchange.hpp"
#include "io/h5ad.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/layer_reader.hpp"
#include "velocity/name_join.hpp"
#include "velocity/velocity_storage.hpp"

namespace velofield {

namespace {

struct VelocitySource {
  std::string path, layer;   // layer "" until chosen
};

// FROM.h5ad[:layer]; a file whose own name holds ':' is taken whole.
VelocitySource parse_source(const std::string& spec) {
  VelocitySource s{spec, ""};
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos || std::filesystem::exists(spec)) return s;
  s.path = spec.substr(0, colon);
  s.layer = spec.substr(colon + 1);
  return s;
}

std::string first_names(const std::vector<std::string>& names, size_t limit = 3) {
  std::string out;
  for (size_t k = 0; k < names.size() && k < limit; ++k) out += (out.empty() ? "" : ", ") + names[k];
  if (names.size() > limit) out += ", ...";
  return out;
}

// A gene selection: 'auto', 'imported', or a boolean var column of the input.
std::vector<uint8_t> selection(const Dataset& d, const StageConfig& sc, const std::string& key, const std::string& value,
                               const std::vector<uint8_t>& imported, std::string* source) {
  std::string column = value;
  if (value == "auto") column = d.var.has("use_for_pca") ? "use_for_pca" : d.var.has("highly_variable") ? "highly_variable" : "imported";
  *source = column;
  if (column == "imported") return imported;
  if (!d.var.has(column))
    throw Error(sc.config().where(sc.section(), key) + ": '" + column + "' is not a var column of " + d.source +
                " (expected 'auto', 'imported' or the name of a boolean var column)");
  std::vector<uint8_t> flags = gene_flags(d, column);
  for (size_t g = 0; g < flags.size(); ++g) flags[g] = flags[g] && imported[g];
  return flags;
}

// Appends a row's entries after the first `at` ones (out.indptr is filled row by row, so nnz()
// is not the fill yet).
template <class Index, class Value>
void append_entries(CsrMatrix& out, size_t at, const std::vector<std::pair<int64_t, double>>& row) {
  out.indices.resize(at + row.size());
  out.data.resize(at + row.size());
  Index* idx = out.indices.data<Index>();
  Value* val = out.data.data<Value>();
  for (size_t k = 0; k < row.size(); ++k) {
    idx[at + k] = static_cast<Index>(row[k].first);
    val[at + k] = static_cast<Value>(row[k].second);
  }
}

// Drops the entries of masked columns (non-finite imports), keeping rows in place.
template <class Index, class Value>
void drop_columns(CsrMatrix& m, const std::vector<uint8_t>& drop) {
  Index* idx = m.indices.data<Index>();
  Value* val = m.data.data<Value>();
  int64_t w = 0, start = 0;
  for (int64_t r = 0; r < m.rows; ++r) {
    const int64_t end = m.indptr[static_cast<size_t>(r + 1)];
    for (int64_t k = start; k < end; ++k)
      if (!drop[static_cast<size_t>(idx[k])]) {
        idx[w] = idx[k];
        val[w] = val[k];
        ++w;
      }
    start = end;
    m.indptr[static_cast<size_t>(r + 1)] = w;
  }
  m.indices.resize(static_cast<size_t>(w));
  m.data.resize(static_cast<size_t>(w));
}

template <class F>
void with_types(const CsrMatrix& m, F&& f) {
  const bool wide = m.indices.dtype() == DType::i64;
  if (m.data.dtype() == DType::f32) {
    if (wide) f(int64_t{}, float{});
    else f(int32_t{}, float{});
  } else {
    if (wide) f(int64_t{}, double{});
    else f(int32_t{}, double{});
  }
}

void run_import(Dataset& d, const StageConfig& sc) {
  const MPI_Comm comm = d.comm;
  const std::string spec = sc.config().get_path(sc.section(), "velocity", "");
  if (spec.empty())
    throw Error("import-velocity: velocity: required: the velocity to import, as --velocity FROM.h5ad[:layer] (INI: velocity = "
                "FROM.h5ad[:layer] in [import-velocity])");
  const double max_unmatched = sc.get_double("max-unmatched-genes");
  if (!(max_unmatched >= 0 && max_unmatched <= 1))
    throw Error(sc.config().where(sc.section(), "max-unmatched-genes") + ": expected a fraction in [0, 1], found '" +
                sc.get_string("max-unmatched-genes") + "'");
  const std::string nan_mode = sc.get_string("nan");
  if (nan_mode != "error" && nan_mode != "mask")
    throw Error(sc.config().where(sc.section(), "nan") + ": expected 'error' or 'mask', found '" + nan_mode + "'");

  VelocitySource src = parse_source(spec);
  ReadOptions ro;
  ro.read_obsp = false;
  const Dataset from = read_h5ad(src.path, comm, ro);
  if (src.layer.empty()) {
    src.layer = from.layers.count("velocity_S") ? "velocity_S" : "velocity";
    if (!from.layers.count(src.layer)) {
      std::string have;
      for (const auto& kv : from.layers) have += (have.empty() ? "" : ", ") + kv.first;
      fail(src.path, "layers", "no layer 'velocity_S' or 'velocity' (name the layer as " + src.path + ":LAYER; this file has layers: " +
                                   (have.empty() ? std::string("none") : have) + ")");
    }
  }
  const Matrix& velocity = from.layer(src.layer);
  const std::string where = "layers/" + src.layer;

  // Genes by name: the velocity file's genes among the input's (which may be a reordered superset).
  std::unordered_map<std::string, int64_t> in_gene;
  in_gene.reserve(static_cast<size_t>(d.n_vars));
  for (int64_t g = 0; g < d.n_vars; ++g)
    if (!in_gene.emplace(d.var.index[static_cast<size_t>(g)], g).second)
      fail(d.source, "var", "gene name '" + d.var.index[static_cast<size_t>(g)] + "' occurs twice: genes must be named uniquely to match them");
  std::vector<int64_t> from_cols, in_cols;   // matched pairs, ascending in the velocity file's columns
  std::vector<std::string> unmatched;
  std::vector<uint8_t> taken(static_cast<size_t>(d.n_vars), 0);
  for (int64_t j = 0; j < from.n_vars; ++j) {
    const std::string& name = from.var.index[static_cast<size_t>(j)];
    auto it = in_gene.find(name);
    if (it == in_gene.end()) {
      unmatched.push_back(name);
      continue;
    }
    if (taken[static_cast<size_t>(it->second)]) fail(src.path, "var", "gene name '" + name + "' occurs twice");
    taken[static_cast<size_t>(it->second)] = 1;
    from_cols.push_back(j);
    in_cols.push_back(it->second);
  }
  const int64_t width = static_cast<int64_t>(from_cols.size());
  if (from.n_vars == 0 || static_cast<double>(unmatched.size()) > max_unmatched * static_cast<double>(from.n_vars) || width == 0)
    fail(src.path, "var",
         std::to_string(unmatched.size()) + " of the " + std::to_string(from.n_vars) + " genes of the velocity file are not genes of " +
             d.source + " (first: " + first_names(unmatched) + "), more than max-unmatched-genes = " + sc.get_string("max-unmatched-genes") +
             " of them: is it the velocity of another dataset, or are the genes named differently (symbols vs ids)?");

  // Cells by name: every cell of the input must have a velocity.
  const std::vector<int64_t> rows = join_names(comm, d.obs.index, from.obs.index, from.obs_begin);
  int64_t counts[2] = {0, 0};   // absent, ambiguous
  std::vector<std::string> absent, ambiguous;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] == kNameAbsent) absent.push_back(d.obs.index[i]);
    if (rows[i] == kNameAmbiguous) ambiguous.push_back(d.obs.index[i]);
  }
  counts[0] = static_cast<int64_t>(absent.size());
  counts[1] = static_cast<int64_t>(ambiguous.size());
  MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, comm);
  agree(comm, ambiguous.empty(),
        describe(src.path, "obs", std::to_string(counts[1]) + " cell name(s) of " + d.source + " occur more than once in the velocity file (first: " +
                                      first_names(ambiguous) + ")"));
  agree(comm, absent.empty(),
        describe(src.path, "obs", std::to_string(counts[0]) + " of the " + std::to_string(d.n_obs) + " cells of " + d.source +
                                      " are not in the velocity file (first: " + first_names(absent) +
                                      "); the velocity must cover every cell of the input (subset the input to its cells first)"));

  // The velocity rows, fetched from the ranks that hold them, in blocks of bounded size.
  const LayerReader reader(velocity);
  const DType out_dtype = reader.value_dtype() == DType::f32 ? DType::f32 : DType::f64;
  CsrMatrix out = CsrMatrix::with_shape(d.n_obs_local, d.n_vars, out_dtype);
  std::vector<int64_t> by_in_col(static_cast<size_t>(width));   // positions in ascending input column
  std::iota(by_in_col.begin(), by_in_col.end(), 0);
  std::sort(by_in_col.begin(), by_in_col.end(), [&](int64_t a, int64_t b) { return in_cols[static_cast<size_t>(a)] < in_cols[static_cast<size_t>(b)]; });
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 24) / width);
  int64_t blocks = (d.n_obs_local + block - 1) / block;
  MPI_Allreduce(MPI_IN_PLACE, &blocks, 1, MPI_INT64_T, MPI_MAX, comm);
  std::vector<int64_t> bad_genes(static_cast<size_t>(width), 0);
  const BlockPartition from_part = from.partition();
  std::vector<std::pair<int64_t, double>> entries;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t first = std::min(d.n_obs_local, b * block), last = std::min(d.n_obs_local, first + block);
    std::vector<int64_t> needed(rows.begin() + first, rows.begin() + last);
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    const std::vector<double> fetched = fetch_rows(comm, from_part, needed, width, [&](int64_t local_row, double* dst) {
      reader.read_row(local_row, from_cols.data(), width, dst);
    });
    for (int64_t i = first; i < last; ++i) {
      const size_t slot = static_cast<size_t>(std::lower_bound(needed.begin(), needed.end(), rows[static_cast<size_t>(i)]) - needed.begin());
      const double* v = fetched.data() + slot * static_cast<size_t>(width);
      entries.clear();
      for (int64_t p : by_in_col) {
        const double x = v[p];
        if (!std::isfinite(x)) ++bad_genes[static_cast<size_t>(p)];
        if (x != 0) entries.emplace_back(in_cols[static_cast<size_t>(p)], x);
      }
      const int64_t filled = out.indptr[static_cast<size_t>(i)];
      with_types(out, [&](auto index, auto value) {
        append_entries<decltype(index), decltype(value)>(out, static_cast<size_t>(filled), entries);
      });
      out.indptr[static_cast<size_t>(i + 1)] = filled + static_cast<int64_t>(entries.size());
    }
    log().progress("import-velocity: cells", last, d.n_obs_local);
  }

  // Non-finite velocities: reject, or mask the genes that hold them.
  MPI_Allreduce(MPI_IN_PLACE, bad_genes.data(), static_cast<int>(width), MPI_INT64_T, MPI_SUM, comm);
  int64_t bad_values = 0;
  std::vector<std::string> bad_names;
  std::vector<uint8_t> imported(static_cast<size_t>(d.n_vars), 0), masked(static_cast<size_t>(d.n_vars), 0);
  for (int64_t p = 0; p < width; ++p) {
    const int64_t g = in_cols[static_cast<size_t>(p)];
    if (bad_genes[static_cast<size_t>(p)] > 0) {
      bad_values += bad_genes[static_cast<size_t>(p)];
      bad_names.push_back(d.var.index[static_cast<size_t>(g)]);
      masked[static_cast<size_t>(g)] = 1;
    } else {
      imported[static_cast<size_t>(g)] = 1;
    }
  }
  if (bad_values > 0 && nan_mode == "error")
    fail(src.path, where,
         std::to_string(bad_values) + " NaN/Inf value(s) in " + std::to_string(bad_names.size()) + " gene(s) (first: " + first_names(bad_names) +
             "); set nan = mask (--nan mask) to store them as 0 and leave those genes out of use_for_dynamics and use_for_transition");
  if (bad_values > 0) with_types(out, [&](auto index, auto value) { drop_columns<decltype(index), decltype(value)>(out, masked); });

  std::string dyn_source, tr_source;
  const std::vector<uint8_t> use_for_dynamics =
      selection(d, sc, "genes-for-dynamics", sc.get_string("genes-for-dynamics"), imported, &dyn_source);
  const std::string tr_value = sc.get_string("genes-for-transition");
  std::vector<uint8_t> use_for_transition = use_for_dynamics;
  tr_source = dyn_source;
  if (tr_value != "dynamics") use_for_transition = selection(d, sc, "genes-for-transition", tr_value, imported, &tr_source);

  if (dense_is_smaller(comm, out.nnz(), out.rows, out.cols, out.data.dtype())) d.layers["velocity_S"] = csr_to_dense(out);
  else d.layers["velocity_S"] = std::move(out);
  set_gene_flags(d, "use_for_dynamics", use_for_dynamics);
  set_gene_flags(d, "use_for_transition", use_for_transition);
  DynamicsRecord record = record_for(d);
  record.model = "stochastic";
  record.est_method = "auto";
  d.uns["dynamics"] = dynamics_record(record);

  auto count = [](const std::vector<uint8_t>& f) { return std::accumulate(f.begin(), f.end(), int64_t{0}); };
  log().info("import-velocity: " + src.path + ":" + src.layer + " (" + dtype_name(reader.value_dtype()) + "): " + std::to_string(d.n_obs) +
             " cells matched (the file has " + std::to_string(from.n_obs) + "), " + std::to_string(width) + " of its " +
             std::to_string(from.n_vars) + " genes matched" + (unmatched.empty() ? "" : " (" + std::to_string(unmatched.size()) + " not in the input)") +
             (bad_values ? "; " + std::to_string(bad_names.size()) + " gene(s) with NaN/Inf masked" : std::string()) + "; use_for_dynamics " +
             std::to_string(count(use_for_dynamics)) + " genes (" + dyn_source + "), use_for_transition " +
             std::to_string(count(use_for_transition)) + " (" + tr_source + ")");
}

}  // namespace

Stage import_velocity_stage() {
  Stage s;
  s.name = "import-velocity";
  s.summary =
      "import a velocity computed by any tool (dynamo's external-velocity workflow): matches cells and genes by name and "
      "writes layers/velocity_S, var use_for_dynamics and use_for_transition, and uns/dynamics";
  s.keys = {
      {"velocity", "", "the velocity to import, FROM.h5ad[:layer] (layer default: velocity_S if the file has it, else velocity); required"},
      {"genes-for-dynamics", "auto",
       "genes flagged use_for_dynamics: 'auto' (var use_for_pca, else highly_variable, else 'imported'), 'imported' (every gene "
       "given a finite velocity) or a boolean var column of the input; always limited to the imported genes"},
      {"genes-for-transition", "dynamics", "genes flagged use_for_transition: 'dynamics' (the same as use_for_dynamics) or as genes-for-dynamics"},
      {"max-unmatched-genes", "0.1", "largest fraction of the velocity file's genes that may be missing from the input before it is an error"},
      {"nan", "error", "NaN/Inf velocities: 'error' rejects the file; 'mask' stores them as 0 and leaves their genes out of the gene flags"},
  };
  s.run = run_import;
  return s;
}

}  // namespace velofield
