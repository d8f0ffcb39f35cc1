// h5ad writer. Variable-length strings cannot be written through MPI-IO (HDF5 1.10), and the file
// layout should not depend on the rank count, so writing has two phases:
//   A. rank 0, serial driver: every group, attribute, string dataset and replicated array, and every
//      cell-distributed dataset created at its global size (allocated, not filled);
//   B. all ranks, MPI-IO: each rank writes its slab of the distributed datasets collectively.
// The file goes to a temporary name beside the target and is renamed when both phases succeed.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>

#include "core/error.hpp"
#include "io/h5ad.hpp"
#include "io/output_space.hpp"
#include "io/hdf5_util.hpp"
#include "io/stored_index_dtype.hpp"

namespace velofield {

namespace {
using h5::Hid;

// One cell-distributed dataset: this rank's part, where it goes, and the global extent.
struct DistWrite {
  std::string path;                          // absolute HDF5 path
  Array owned;                               // this rank's elements (rows × trailing) ...
  const Array* view = nullptr;               // ... or a view of the Dataset's own (no copy)
  std::vector<int64_t> trailing;             // dims after the first
  int64_t local_rows = 0;
  int64_t row_offset = 0, global_rows = 0;   // filled by exchange()
  std::vector<std::pair<std::string, std::string>> encoding;   // attrs to set, or empty
  // CSR indptr only: int64 entries to shift by the nnz on earlier ranks (the row offset of the
  // plan at index `shift_by`), then store as `indptr_dtype`.
  int shift_by = -1;
  DType indptr_dtype = DType::i64;

  const Array& values() const { return view ? *view : owned; }
};

using Encoding = std::vector<std::pair<std::string, std::string>>;
const Encoding kArrayEncoding{{"encoding-type", "array"}, {"encoding-version", "0.2.0"}};

// The Dataset outlives the writer, so its arrays are written in place rather than copied.
DistWrite viewing(std::string path, const Array& values, int64_t rows, std::vector<int64_t> trailing = {},
                  Encoding encoding = {}) {
  DistWrite w;
  w.path = std::move(path);
  w.view = &values;
  w.local_rows = rows;
  w.trailing = std::move(trailing);
  w.encoding = std::move(encoding);
  return w;
}

DistWrite owning(std::string path, Array values, int64_t rows, Encoding encoding = {}) {
  DistWrite w;
  w.path = std::move(path);
  w.owned = std::move(values);
  w.local_rows = rows;
  w.encoding = std::move(encoding);
  return w;
}

std::string gather_error(MPI_Comm comm, bool ok, const std::string& message) {
  try {
    agree(comm, ok, message);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class Writer {
 public:
  Writer(const Dataset& d, std::string path, WriteOptions options) : d_(d), path_(std::move(path)), options_(options) {
    MPI_Comm_rank(d_.comm, &rank_);
    MPI_Comm_size(d_.comm, &size_);
  }
  void write();

 private:
  // Planning (all ranks, same order)
  void plan_dataframe(const DataFrame& df, const std::string& path);
  void plan_matrix(const Matrix& m, const std::string& path);
  void plan_obsp(const DistMatrix& m, const std::string& path);
  void plan_csr(const std::string& path, std::vector<int64_t> indptr, DistWrite indices, DistWrite data, int64_t local_rows,
                int64_t cols, DType indptr_dtype);
  void exchange();
  std::vector<std::string> gather_strings(const std::vector<std::string>& local);

  // Phase A (rank 0)
  void layout(const std::string& tmp);
  void layout_dataframe(hid_t loc, const std::string& name, const DataFrame& df, bool distributed, const std::string& path);
  void layout_matrix_replicated(hid_t loc, const std::string& name, const Matrix& m);
  void layout_csr_replicated(hid_t loc, const std::string& name, const CsrMatrix& m);
  void layout_uns(hid_t loc, const std::string& name, const UnsNode& n);
  void create_distributed(hid_t file);
  Hid group(hid_t loc, const std::string& name, const std::string& type, const std::string& version);

  // Phase B (all ranks)
  void fill(const std::string& tmp);

  const Dataset& d_;
  std::string path_;
  WriteOptions options_;
  int rank_ = 0, size_ = 1;
  std::vector<DistWrite> plan_;
  std::map<std::string, std::vector<std::string>> gathered_;   // rank 0: obs strings by path
  std::map<std::string, std::vector<int64_t>> csr_shape_;      // path -> {rows, cols}
};

std::vector<std::string> Writer::gather_strings(const std::vector<std::string>& local) {
  std::string joined;
  std::vector<int> lengths;
  for (const auto& s : local) {
    joined += s;
    lengths.push_back(static_cast<int>(s.size()));
  }
  // MPI counts and displacements are int: the strings of one column gathered on rank 0 must stay
  // under 2^31 bytes in total (e.g. 10M cell names of 200 bytes would not). Every rank sees the
  // same sum, so every rank throws.
  int64_t all_bytes_total = static_cast<int64_t>(joined.size());
  MPI_Allreduce(MPI_IN_PLACE, &all_bytes_total, 1, MPI_INT64_T, MPI_SUM, d_.comm);
  if (all_bytes_total > INT32_MAX)
    throw Error(describe(path_, "", "a string column of " + std::to_string(all_bytes_total) +
                                        " bytes (over 2^31) cannot be gathered for writing; shorten the obs names or columns"));
  int n = static_cast<int>(local.size()), bytes = static_cast<int>(joined.size());
  std::vector<int> counts(static_cast<size_t>(size_)), byte_counts(static_cast<size_t>(size_));
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, d_.comm);
  MPI_Gather(&bytes, 1, MPI_INT, byte_counts.data(), 1, MPI_INT, 0, d_.comm);
  std::vector<int> displs(static_cast<size_t>(size_), 0), byte_displs(static_cast<size_t>(size_), 0);
  for (int r = 1; r < size_; ++r) {
    displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
    byte_displs[static_cast<size_t>(r)] = byte_displs[static_cast<size_t>(r - 1)] + byte_counts[static_cast<size_t>(r - 1)];
  }
  const int total = rank_ == 0 ? displs.back() + counts.back() : 0;
  const int total_bytes = rank_ == 0 ? byte_displs.back() + byte_counts.back() : 0;
  std::vector<int> all_lengths(static_cast<size_t>(std::max(total, 1)));
  std::vector<char> all_bytes(static_cast<size_t>(std::max(total_bytes, 1)));
  MPI_Gatherv(lengths.data(), n, MPI_INT, all_lengths.data(), counts.data(), displs.data(), MPI_INT, 0, d_.comm);
  MPI_Gatherv(joined.data(), bytes, MPI_CHAR, all_bytes.data(), byte_counts.data(), byte_displs.data(), MPI_CHAR, 0, d_.comm);
  std::vector<std::string> out;
  if (rank_ == 0) {
    out.reserve(static_cast<size_t>(total));
    size_t pos = 0;
    for (int i = 0; i < total; ++i) {
      out.emplace_back(all_bytes.data() + pos, static_cast<size_t>(all_lengths[static_cast<size_t>(i)]));
      pos += static_cast<size_t>(all_lengths[static_cast<size_t>(i)]);
    }
  }
  return out;
}

void Writer::plan_dataframe(const DataFrame& df, const std::string& path) {
  gathered_[path + "/" + df.index_key] = gather_strings(df.index);
  for (const auto& name : df.column_order) {
    const Column& c = df.columns.at(name);
    const std::string p = path + "/" + name;
    switch (c.kind) {
      case Column::Kind::string: gathered_[p] = gather_strings(c.strings); break;
      case Column::Kind::numeric:
        plan_.push_back(viewing(p, c.values, c.size(), {}, kArrayEncoding));
        break;
      case Column::Kind::categorical:
        plan_.push_back(viewing(p + "/codes", c.values, c.size(), {}, kArrayEncoding));
        break;
      case Column::Kind::nullable_integer:
      case Column::Kind::nullable_boolean:
        plan_.push_back(viewing(p + "/values", c.values, c.size()));
        plan_.push_back(owning(p + "/mask", Array::from(c.mask, DType::boolean), c.size()));
        break;
      case Column::Kind::nullable_string:
        gathered_[p + "/values"] = gather_strings(c.strings);
        plan_.push_back(owning(p + "/mask", Array::from(c.mask, DType::boolean), c.size()));
        break;
    }
  }
}

void Writer::plan_csr(const std::string& path, std::vector<int64_t> indptr, DistWrite indices, DistWrite data,
                      int64_t local_rows, int64_t cols, DType indptr_dtype) {
  // indptr: each rank writes its first local_rows entries shifted by its nnz offset; the last
  // rank also writes the final entry (total nnz). The shift is applied in exchange().
  int64_t global_rows = 0;
  MPI_Allreduce(&local_rows, &global_rows, 1, MPI_INT64_T, MPI_SUM, d_.comm);
  csr_shape_[path] = {global_rows, cols};
  plan_.push_back(std::move(data));
  plan_.push_back(std::move(indices));
  const int64_t rows_written = rank_ == size_ - 1 ? local_rows + 1 : local_rows;
  indptr.resize(static_cast<size_t>(rows_written));
  DistWrite w = owning(path + "/indptr", Array::from(indptr), rows_written);
  w.shift_by = static_cast<int>(plan_.size()) - 2;   // the data plan
  w.indptr_dtype = indptr_dtype;
  plan_.push_back(std::move(w));
}

void Writer::plan_matrix(const Matrix& m, const std::string& path) {
  if (auto* c = std::get_if<CsrMatrix>(&m)) {
    // An indptr or indices that no longer fits the file's dtype (the data grew, or an int8/int16
    // indptr met more nonzeros) widens instead of wrapping.
    int64_t total_nnz = c->nnz();
    MPI_Allreduce(MPI_IN_PLACE, &total_nnz, 1, MPI_INT64_T, MPI_SUM, d_.comm);
    const DType indptr_dtype = stored_index_dtype(c->file_indptr_dtype, total_nnz);
    const DType indices_dtype = stored_index_dtype(c->file_indices_dtype, std::max<int64_t>(c->cols - 1, 0));
    DistWrite indices = indices_dtype == c->indices.dtype()
                            ? viewing(path + "/indices", c->indices, c->nnz())
                            : owning(path + "/indices", c->indices.converted(indices_dtype), c->nnz());
    plan_csr(path, c->indptr, std::move(indices), viewing(path + "/data", c->data, c->nnz()), c->rows, c->cols, indptr_dtype);
    return;
  }
  const auto& a = std::get<DenseArray>(m);
  std::vector<int64_t> trailing(a.shape.begin() + (a.shape.empty() ? 0 : 1), a.shape.end());
  plan_.push_back(viewing(path, a.values, a.rows(), trailing, kArrayEncoding));
}

void Writer::plan_obsp(const DistMatrix& m, const std::string& path) {
  std::vector<int64_t> indptr, cols;
  std::vector<double> values;
  m.local_csr(indptr, cols, values);
  const int64_t local_rows = static_cast<int64_t>(indptr.size()) - 1;
  Array data = Array::from(values).converted(m.file_dtype());
  Array indices = Array::from(cols).converted(index_dtype_for(m.global_cols()));
  int64_t total_nnz = indptr.back();
  MPI_Allreduce(MPI_IN_PLACE, &total_nnz, 1, MPI_INT64_T, MPI_SUM, d_.comm);
  const int64_t local_nnz = indptr.back();
  plan_csr(path, std::move(indptr), owning(path + "/indices", std::move(indices), local_nnz),
           owning(path + "/data", std::move(data), local_nnz), local_rows, m.global_cols(),
           total_nnz > INT32_MAX ? DType::i64 : DType::i32);
}

void Writer::exchange() {
  // One allgather of every plan's local row count gives each its offset and global size.
  const size_t n = plan_.size();
  std::vector<int64_t> mine(n), all(n * static_cast<size_t>(size_));
  for (size_t i = 0; i < n; ++i) mine[i] = plan_[i].local_rows;
  MPI_Allgather(mine.data(), static_cast<int>(n), MPI_INT64_T, all.data(), static_cast<int>(n), MPI_INT64_T, d_.comm);
  for (size_t i = 0; i < n; ++i) {
    int64_t offset = 0, total = 0;
    for (int r = 0; r < size_; ++r) {
      const int64_t v = all[static_cast<size_t>(r) * n + i];
      if (r < rank_) offset += v;
      total += v;
    }
    plan_[i].row_offset = offset;
    plan_[i].global_rows = total;
  }
  // CSR indptr: shift by the nnz on earlier ranks (= the row offset of the data plan).
  for (auto& w : plan_) {
    if (w.shift_by < 0) continue;
    const int64_t shift = plan_[static_cast<size_t>(w.shift_by)].row_offset;
    int64_t* p = w.owned.data<int64_t>();
    for (size_t k = 0; k < w.owned.size(); ++k) p[k] += shift;
    w.owned = w.owned.converted(w.indptr_dtype);
  }
}

Hid Writer::group(hid_t loc, const std::string& name, const std::string& type, const std::string& version) {
  Hid gcpl = h5::group_creation_plist();
  Hid g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT));
  if (!g.valid()) throw Error("cannot create group " + name + ": " + h5::last_error());
  if (!type.empty()) h5::write_encoding(g, type, version);
  return g;
}

void Writer::layout_dataframe(hid_t loc, const std::string& name, const DataFrame& df, bool distributed, const std::string& path) {
  Hid g = group(loc, name, "dataframe", "0.2.0");
  h5::write_string_attr(g, "_index", df.index_key);
  h5::write_string_array_attr(g, "column-order", df.column_order);
  auto strings = [&](const std::string& key, const std::vector<std::string>& local) -> const std::vector<std::string>& {
    return distributed ? gathered_.at(path + "/" + key) : local;
  };
  {
    const auto& idx = strings(df.index_key, df.index);
    h5::write_strings(g, df.index_key, idx, {static_cast<int64_t>(idx.size())});
    Hid ds(H5Dopen2(g, df.index_key.c_str(), H5P_DEFAULT));
    h5::write_encoding(ds, "string-array", "0.2.0");
  }
  for (const auto& col : df.column_order) {
    const Column& c = df.columns.at(col);
    switch (c.kind) {
      case Column::Kind::string: {
        const auto& v = strings(col, c.strings);
        h5::write_strings(g, col, v, {static_cast<int64_t>(v.size())});
        Hid ds(H5Dopen2(g, col.c_str(), H5P_DEFAULT));
        h5::write_encoding(ds, "string-array", "0.2.0");
        break;
      }
      case Column::Kind::numeric:
        if (!distributed) {
          h5::write_array(g, col, c.values, {c.size()});
          Hid ds(H5Dopen2(g, col.c_str(), H5P_DEFAULT));
          h5::write_encoding(ds, "array", "0.2.0");
        }
        break;
      case Column::Kind::categorical: {
        Hid cg = group(g, col, "categorical", "0.2.0");
        h5::write_bool_attr(cg, "ordered", c.ordered);
        if (c.categories_numeric) {
          h5::write_array(cg, "categories", c.numeric_categories, {static_cast<int64_t>(c.numeric_categories.size())});
          Hid ds(H5Dopen2(cg, "categories", H5P_DEFAULT));
          h5::write_encoding(ds, "array", "0.2.0");
        } else {
          h5::write_strings(cg, "categories", c.categories, {static_cast<int64_t>(c.categories.size())});
          Hid ds(H5Dopen2(cg, "categories", H5P_DEFAULT));
          h5::write_encoding(ds, "string-array", "0.2.0");
        }
        if (!distributed) {
          h5::write_array(cg, "codes", c.values, {c.size()});
          Hid ds(H5Dopen2(cg, "codes", H5P_DEFAULT));
          h5::write_encoding(ds, "array", "0.2.0");
        }
        break;
      }
      case Column::Kind::nullable_integer:
      case Column::Kind::nullable_boolean:
      case Column::Kind::nullable_string: {
        const char* type = c.kind == Column::Kind::nullable_integer ? "nullable-integer"
                           : c.kind == Column::Kind::nullable_boolean ? "nullable-boolean" : "nullable-string-array";
        Hid ng = group(g, col, type, "0.1.0");
        if (c.kind == Column::Kind::nullable_string) {
          const auto& v = strings(col + "/values", c.strings);
          h5::write_strings(ng, "values", v, {static_cast<int64_t>(v.size())});
        }
        if (!distributed) {
          if (c.kind != Column::Kind::nullable_string) h5::write_array(ng, "values", c.values, {c.size()});
          h5::write_array(ng, "mask", Array::from(c.mask, DType::boolean), {c.size()});
        }
        break;
      }
    }
  }
}

void Writer::layout_csr_replicated(hid_t loc, const std::string& name, const CsrMatrix& m) {
  Hid g = group(loc, name, "csr_matrix", "0.1.0");
  h5::write_int_array_attr(g, "shape", {m.rows, m.cols});
  h5::write_array(g, "data", m.data, {m.nnz()});
  h5::write_array(g, "indices", m.indices.converted(stored_index_dtype(m.file_indices_dtype, std::max<int64_t>(m.cols - 1, 0))), {m.nnz()});
  h5::write_array(g, "indptr", Array::from(m.indptr).converted(stored_index_dtype(m.file_indptr_dtype, m.nnz())), {m.rows + 1});
}

void Writer::layout_matrix_replicated(hid_t loc, const std::string& name, const Matrix& m) {
  if (auto* c = std::get_if<CsrMatrix>(&m)) return layout_csr_replicated(loc, name, *c);
  const auto& a = std::get<DenseArray>(m);
  h5::write_array(loc, name, a.values, a.shape);
  Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  h5::write_encoding(ds, "array", "0.2.0");
}

void Writer::layout_uns(hid_t loc, const std::string& name, const UnsNode& n) {
  switch (n.kind) {
    case UnsNode::Kind::dict: {
      Hid g = group(loc, name, "dict", "0.1.0");
      for (const auto& [k, child] : n.children) layout_uns(g, k, child);
      break;
    }
    case UnsNode::Kind::string: {
      h5::write_strings(loc, name, {n.text}, {});
      Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
      h5::write_encoding(ds, "string", "0.2.0");
      break;
    }
    case UnsNode::Kind::string_array: {
      h5::write_strings(loc, name, n.strings, n.shape);
      Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
      h5::write_encoding(ds, "string-array", "0.2.0");
      break;
    }
    case UnsNode::Kind::numeric: {
      h5::write_array(loc, name, n.array.values, n.array.shape);
      Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
      if (n.array.shape.empty()) h5::write_encoding(ds, "numeric-scalar", "0.2.0");
      else h5::write_encoding(ds, "array", "0.2.0");
      break;
    }
    case UnsNode::Kind::sparse: layout_csr_replicated(loc, name, n.sparse); break;
    case UnsNode::Kind::dataframe: layout_dataframe(loc, name, n.frame, false, ""); break;
  }
}

void Writer::create_distributed(hid_t file) {
  for (const auto& w : plan_) {
    std::vector<hsize_t> dims{static_cast<hsize_t>(w.global_rows)};
    for (auto t : w.trailing) dims.push_back(static_cast<hsize_t>(t));
    Hid space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    Hid dcpl = h5::dataset_creation_plist();
    int64_t row_elems = 1;
    for (auto t : w.trailing) row_elems *= t;
    const bool chunked = (options_.gzip_level > 0 || options_.chunk_rows > 0) && w.global_rows > 0 && row_elems > 0;
    if (chunked) {
      // Chunks of ~1 MiB for 1-D arrays (CSR data/indices), chunk_rows rows for 2-D ones.
      std::vector<hsize_t> chunk = dims;
      const int64_t rows = options_.chunk_rows > 0 && !w.trailing.empty()
                               ? options_.chunk_rows
                               : std::max<int64_t>(1, (1 << 20) / static_cast<int64_t>(dtype_size(w.values().dtype()) * static_cast<size_t>(row_elems)));
      chunk[0] = static_cast<hsize_t>(std::min<int64_t>(rows, w.global_rows));
      H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
      if (options_.gzip_level > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, static_cast<unsigned>(options_.gzip_level));
      }
    }
    // Allocated now, at full size, never pre-filled: phase B writes every element.
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    Hid mem = h5::memory_type(w.values().dtype());
    Hid file_type(H5Tcopy(mem));
    if (w.values().dtype() != DType::boolean) H5Tset_order(file_type, H5T_ORDER_LE);
    Hid ds(H5Dcreate2(file, w.path.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (!ds.valid()) throw Error("cannot create dataset " + w.path + ": " + h5::last_error());
    for (const auto& [k, v] : w.encoding) h5::write_string_attr(ds, k, v);
  }
}

void Writer::layout(const std::string& tmp) {
  Hid fcpl(H5Pcreate(H5P_FILE_CREATE));
  Hid f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT));
  if (!f.valid()) throw Error(describe(path_, "", "cannot create the output file: " + h5::last_error()));
  h5::write_encoding(f, "anndata", "0.1.0");
  layout_dataframe(f, "obs", d_.obs, true, "/obs");
  layout_dataframe(f, "var", d_.var, false, "/var");
  auto csr_group = [&](hid_t loc, const std::string& name, const std::string& abs) {
    Hid g = group(loc, name, "csr_matrix", "0.1.0");
    h5::write_int_array_attr(g, "shape", csr_shape_.at(abs));
  };
  auto distributed_matrix = [&](hid_t loc, const std::string& name, const Matrix& m, const std::string& abs) {
    if (std::holds_alternative<CsrMatrix>(m)) csr_group(loc, name, abs);
  };
  if (d_.X) distributed_matrix(f, "X", *d_.X, "/X");
  {
    Hid g = group(f, "layers", "dict", "0.1.0");
    for (const auto& [k, m] : d_.layers) distributed_matrix(g, k, m, "/layers/" + k);
  }
  {
    Hid g = group(f, "obsm", "dict", "0.1.0");
    for (const auto& [k, m] : d_.obsm) distributed_matrix(g, k, m, "/obsm/" + k);
  }
  {
    Hid g = group(f, "obsp", "dict", "0.1.0");
    for (const auto& kv : d_.obsp) csr_group(g, kv.first, "/obsp/" + kv.first);
  }
  {
    Hid g = group(f, "varm", "dict", "0.1.0");
    for (const auto& [k, m] : d_.varm) layout_matrix_replicated(g, k, m);
  }
  {
    Hid g = group(f, "varp", "dict", "0.1.0");
    for (const auto& [k, m] : d_.varp) layout_matrix_replicated(g, k, m);
  }
  layout_uns(f, "uns", d_.uns);
  if (d_.raw) {
    Hid g = group(f, "raw", "raw", "0.1.0");
    layout_dataframe(g, "var", d_.raw->var, false, "");
    distributed_matrix(g, "X", d_.raw->X, "/raw/X");
    Hid vm = group(g, "varm", "dict", "0.1.0");
    for (const auto& [k, m] : d_.raw->varm) layout_matrix_replicated(vm, k, m);
  }
  create_distributed(f);
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw Error(describe(path_, "", "cannot write (disk full?): " + h5::last_error()));
}

void Writer::fill(const std::string& tmp) {
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fapl_mpio(fapl, d_.comm, MPI_INFO_NULL);
  Hid f(H5Fopen(tmp.c_str(), H5F_ACC_RDWR, fapl));
  if (!f.valid()) throw Error(describe(path_, "", "cannot reopen the temporary output: " + h5::last_error()));
  Hid dxpl(H5Pcreate(H5P_DATASET_XFER));
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  for (const auto& w : plan_) {
    Hid ds(H5Dopen2(f, w.path.c_str(), H5P_DEFAULT));
    if (!ds.valid()) throw Error("cannot open " + w.path + ": " + h5::last_error());
    std::vector<hsize_t> dims{static_cast<hsize_t>(w.global_rows)}, start{static_cast<hsize_t>(w.row_offset)},
        count{static_cast<hsize_t>(w.local_rows)};
    for (auto t : w.trailing) {
      dims.push_back(static_cast<hsize_t>(t));
      start.push_back(0);
      count.push_back(static_cast<hsize_t>(t));
    }
    Hid file_space(H5Dget_space(ds));
    Hid mem_space;
    if (w.local_rows == 0 || w.values().size() == 0) {
      H5Sselect_none(file_space);
      hsize_t one = 1;
      mem_space = Hid(H5Screate_simple(1, &one, nullptr));
      H5Sselect_none(mem_space);
    } else {
      H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
      mem_space = Hid(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
    }
    Hid mem = h5::memory_type(w.values().dtype());
    unsigned char dummy[16] = {0};
    const void* buffer = w.values().size() > 0 ? w.values().raw() : dummy;
    if (H5Dwrite(ds, mem, mem_space, file_space, dxpl, buffer) < 0)
      throw Error(describe(path_, w.path, "write failed (disk full?): " + h5::last_error()));
  }
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw Error(describe(path_, "", "cannot flush (disk full?): " + h5::last_error()));
}

void Writer::write() {
  // The temporary name is chosen by rank 0 and shared, so that every rank opens the same file.
  std::string tmp;
  if (rank_ == 0) {
    const std::filesystem::path target(path_);
    tmp = (target.parent_path() / ("." + target.filename().string() + ".partial." + std::to_string(getpid()))).string();
  }
  int len = static_cast<int>(tmp.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, d_.comm);
  tmp.resize(static_cast<size_t>(len));
  MPI_Bcast(tmp.data(), len, MPI_CHAR, 0, d_.comm);

  // Refuse early, before any work, when the output cannot be written.
  {
    std::string problem;
    if (rank_ == 0) {
      const std::filesystem::path dir = std::filesystem::path(path_).parent_path().empty() ? "." : std::filesystem::path(path_).parent_path();
      if (!std::filesystem::is_directory(dir)) problem = "the output directory " + dir.string() + " does not exist";
      else if (access(dir.c_str(), W_OK) != 0) problem = "the output directory " + dir.string() + " is not writable";
      else if (!options_.replace_source && std::filesystem::exists(path_) && std::filesystem::equivalent(path_, d_.source.empty() ? "/nonexistent-velofield" : d_.source))
        problem = "refusing to overwrite the input file; write to another name";
    }
    agree(d_.comm, problem.empty(), describe(path_, "", problem));
  }

  plan_dataframe(d_.obs, "/obs");
  if (d_.X) plan_matrix(*d_.X, "/X");
  for (const auto& [k, m] : d_.layers) plan_matrix(m, "/layers/" + k);
  for (const auto& [k, m] : d_.obsm) plan_matrix(m, "/obsm/" + k);
  for (const auto& [k, m] : d_.obsp) plan_obsp(m, "/obsp/" + k);
  if (d_.raw) plan_matrix(d_.raw->X, "/raw/X");
  exchange();
  {
    // The cell-distributed arrays alone: a lower bound of the file, checked before it is created.
    uint64_t bytes = 0;
    for (const auto& w : plan_) bytes += w.values().size() * dtype_size(w.values().dtype());
    MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_UINT64_T, MPI_SUM, d_.comm);
    check_free_space(d_.comm, path_, bytes);
  }

  auto cleanup = [&] {
    if (rank_ == 0) std::remove(tmp.c_str());
  };
  std::string error;
  {
    bool ok = true;
    std::string message;
    if (rank_ == 0) {
      try {
        layout(tmp);
      } catch (const std::exception& e) {
        ok = false;
        message = e.what();
      }
    }
    error = gather_error(d_.comm, ok, describe(path_, "", message));
  }
  if (error.empty()) {
    bool ok = true;
    std::string message;
    try {
      fill(tmp);
    } catch (const std::exception& e) {
      ok = false;
      message = e.what();
    }
    error = gather_error(d_.comm, ok, message);
  }
  if (error.empty() && rank_ == 0) {
    if (std::rename(tmp.c_str(), path_.c_str()) != 0) error = describe(path_, "", "cannot rename the finished temporary file into place");
  }
  if (rank_ == 0 && !error.empty()) cleanup();
  agree(d_.comm, error.empty(), error);
}
}  // namespace

void write_h5ad(const Dataset& dataset, const std::string& path, const WriteOptions& options) {
  Writer(dataset, path, options).write();
}

}  // namespace velofield
