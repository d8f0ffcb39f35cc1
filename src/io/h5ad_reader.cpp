// h5ad reader: anndata on-disk spec (encoding-type/-version) and the legacy layouts anndata 0.8
// still reads (dataframe 0.1.0 with __categories and object-reference categories; h5sparse_format
// sparse groups; un-encoded uns entries). Every check that can fail on one rank only is agreed on
// by all ranks before anyone throws.
#include <cstring>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "core/log.hpp"
#include "data/validate.hpp"
#include "io/h5ad.hpp"
#include "io/hdf5_util.hpp"

namespace velofield {

namespace {
using h5::Hid;

struct Rows {
  bool distributed = false;
  int64_t begin = 0, count = 0, total = 0;   // for replicated reads: begin 0, count = total
};

struct Spec {
  std::string type, version;
  bool group = false;
};

class Reader {
 public:
  Reader(std::string path, MPI_Comm comm, ReadOptions options)
      : path_(std::move(path)), comm_(comm), options_(std::move(options)) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  Dataset read();

 private:
  [[noreturn]] void bad(const std::string& key, const std::string& problem) const { fail(path_, key, problem); }
  void open();
  Spec spec(hid_t loc, const std::string& name, const std::string& key) const;
  int64_t index_length(const std::string& frame);
  Rows all_rows(int64_t n) const { return Rows{false, 0, n, n}; }

  DataFrame read_dataframe(hid_t loc, const std::string& name, const std::string& key, Rows rows);
  Column read_column(hid_t frame, const std::string& name, const std::string& key, Rows rows);
  Array read_numeric(hid_t ds, const std::string& key, Rows rows, bool collective);
  Matrix read_matrix(hid_t loc, const std::string& name, const std::string& key, Rows rows, int64_t cols);
  CsrMatrix read_sparse(hid_t group, const Spec& s, const std::string& key, Rows rows, int64_t cols);
  CsrMatrix read_csc_as_csr(hid_t group, const std::string& key, Rows rows, int64_t cols, const std::vector<int64_t>& shape);
  DenseArray read_dense(hid_t ds, const std::string& key, Rows rows, int64_t cols);
  DistMatrix read_obsp(hid_t loc, const std::string& name, const std::string& key);
  UnsNode read_uns(hid_t loc, const std::string& name, const std::string& key);
  std::map<std::string, Matrix> read_matrix_group(const std::string& group, Rows rows, int64_t cols);
  hid_t dxpl(const Rows& rows) const { return rows.distributed ? collective_.get() : H5P_DEFAULT; }

  std::string path_;
  MPI_Comm comm_;
  ReadOptions options_;
  int rank_ = 0, size_ = 1;
  Hid file_, collective_;
  Dataset d_;
};

void Reader::open() {
  // Existence and signature first: each gives its own message instead of HDF5's stack.
  if (!std::filesystem::exists(path_)) bad("", "file not found");
  if (std::filesystem::is_directory(path_)) bad("", "is a directory, not an .h5ad file");
  const htri_t is_hdf5 = H5Fis_hdf5(path_.c_str());
  if (is_hdf5 <= 0) {
    h5::last_error();
    bad("", "not an HDF5 file (no HDF5 signature); expected an AnnData .h5ad file");
  }
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fapl_mpio(fapl, comm_, MPI_INFO_NULL);
  const hid_t f = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl);
  if (f < 0) bad("", "cannot open as HDF5 (truncated or corrupt file?): " + h5::last_error());
  file_ = Hid(f);
  collective_ = Hid(H5Pcreate(H5P_DATASET_XFER));
  H5Pset_dxpl_mpio(collective_, H5FD_MPIO_COLLECTIVE);
  if (h5::has_attr(file_, "encoding-type")) {
    const std::string t = h5::read_string_attr(file_, "encoding-type");
    if (t != "anndata") bad("/", "root encoding-type is '" + t + "', expected 'anndata'");
  }
  if (!h5::exists(file_, "obs") || !h5::exists(file_, "var"))
    bad("/", "not an AnnData file: no 'obs' and 'var' at the root (found: " +
                 [&] { std::string s; for (auto& c : h5::children(file_)) s += (s.empty() ? "" : ", ") + c; return s.empty() ? std::string("nothing") : s; }() + ")");
}

Spec Reader::spec(hid_t loc, const std::string& name, const std::string& key) const {
  Spec s;
  s.group = h5::is_group(loc, name);
  Hid obj(H5Oopen(loc, name.c_str(), H5P_DEFAULT));
  if (!obj.valid()) bad(key, "cannot open: " + h5::last_error());
  try {
    if (h5::has_attr(obj, "encoding-type")) s.type = h5::read_string_attr(obj, "encoding-type");
    if (h5::has_attr(obj, "encoding-version")) s.version = h5::read_string_attr(obj, "encoding-version");
    if (s.type.empty() && s.group && h5::has_attr(obj, "h5sparse_format")) {
      const std::string f = h5::read_string_attr(obj, "h5sparse_format");
      if (f == "csr") s.type = "csr_matrix";
      else if (f == "csc") s.type = "csc_matrix";
      else bad(key, "unsupported h5sparse_format '" + f + "'");
    }
  } catch (const Error& e) {
    if (std::string(e.what()).rfind(path_, 0) == 0) throw;
    bad(key, e.what());
  }
  return s;
}

int64_t Reader::index_length(const std::string& frame) {
  if (!h5::is_group(file_, frame)) {
    bad(frame, "stored as a compound dataset (anndata < 0.7 layout); re-save the file with anndata >= 0.7");
  }
  Hid g(H5Gopen2(file_, frame.c_str(), H5P_DEFAULT));
  std::string index_key = "_index";
  if (h5::has_attr(g, "_index")) index_key = h5::read_string_attr(g, "_index");
  if (!h5::exists(g, index_key)) bad(frame + "/" + index_key, "the dataframe's index is missing");
  Hid ds(H5Dopen2(g, index_key.c_str(), H5P_DEFAULT));
  const auto d = h5::dims(ds);
  if (d.size() != 1) bad(frame + "/" + index_key, "the index must be 1-D");
  return d[0];
}

Array Reader::read_numeric(hid_t ds, const std::string& key, Rows rows, bool collective) {
  Hid type(H5Dget_type(ds));
  const DType dt = h5::dtype_of_type(type, path_, key);
  const auto d = h5::dims(ds);
  int64_t stride = 1;
  for (size_t i = 1; i < d.size(); ++i) stride *= d[i];
  Array out(dt, static_cast<size_t>(rows.count * stride));
  if (d.empty()) out = Array(dt, 1);
  h5::read_rows(ds, rows.begin, d.empty() ? 1 : rows.count, out, collective ? collective_.get() : H5P_DEFAULT);
  return out;
}

Column Reader::read_column(hid_t frame, const std::string& name, const std::string& key, Rows rows) {
  const Spec s = spec(frame, name, key);
  Column c;
  auto check_length = [&](hid_t ds, const std::string& k) {
    const auto d = h5::dims(ds);
    if (d.size() != 1 || d[0] != rows.total)
      bad(k, "has " + (d.empty() ? std::string("0-d") : std::to_string(d[0])) + " rows, the index has " + std::to_string(rows.total));
  };
  if (!s.group) {
    Hid ds(H5Dopen2(frame, name.c_str(), H5P_DEFAULT));
    check_length(ds, key);
    Hid type(H5Dget_type(ds));
    if (s.type != "" && s.type != "array" && s.type != "string-array")
      bad(key, "unsupported encoding '" + s.type + "' (version " + s.version + ") for a dataframe column");
    if (h5::is_string_type(type)) {
      c.kind = Column::Kind::string;
      c.strings = h5::read_strings(ds, rows.begin, rows.count, dxpl(rows));
      return c;
    }
    c.values = read_numeric(ds, key, rows, rows.distributed);
    if (h5::has_attr(ds, "categories")) {
      // anndata 0.7: codes dataset with an object reference to obs/__categories/<name>.
      Hid attr(H5Aopen(ds, "categories", H5P_DEFAULT));
      hobj_ref_t ref;
      if (H5Aread(attr, H5T_STD_REF_OBJ, &ref) < 0) bad(key, "unreadable 'categories' reference: " + h5::last_error());
      Hid cats(H5Rdereference2(ds, H5P_DEFAULT, H5R_OBJECT, &ref));
      if (!cats.valid()) bad(key, "dangling 'categories' reference");
      c.kind = Column::Kind::categorical;
      Hid ctype(H5Dget_type(cats));
      if (h5::is_string_type(ctype)) {
        c.categories = h5::read_all_strings(cats);
      } else {
        c.categories_numeric = true;
        c.numeric_categories = read_numeric(cats, key + "/categories", all_rows(h5::dims(cats).at(0)), false);
      }
      c.ordered = h5::has_attr(cats, "ordered") && h5::read_bool_attr(cats, "ordered");
    }
    return c;
  }
  Hid g(H5Gopen2(frame, name.c_str(), H5P_DEFAULT));
  if (s.type == "categorical") {
    if (!h5::exists(g, "codes") || !h5::exists(g, "categories")) bad(key, "categorical without codes/categories");
    Hid codes(H5Dopen2(g, "codes", H5P_DEFAULT));
    check_length(codes, key + "/codes");
    c.kind = Column::Kind::categorical;
    c.values = read_numeric(codes, key + "/codes", rows, rows.distributed);
    Hid cats(H5Dopen2(g, "categories", H5P_DEFAULT));
    Hid ctype(H5Dget_type(cats));
    if (h5::is_string_type(ctype)) {
      c.categories = h5::read_all_strings(cats);
    } else {
      c.categories_numeric = true;
      c.numeric_categories = read_numeric(cats, key + "/categories", all_rows(h5::dims(cats).at(0)), false);
    }
    c.ordered = h5::has_attr(g, "ordered") && h5::read_bool_attr(g, "ordered");
    const int64_t n_cat = static_cast<int64_t>(c.categories_numeric ? c.numeric_categories.size() : c.categories.size());
    bool ok = true;
    for (size_t i = 0; i < c.values.size() && ok; ++i) {
      const int64_t code = c.values.as_int64(i);
      ok = code >= -1 && code < n_cat;
    }
    agree(comm_, ok, describe(path_, key + "/codes", "a code is outside [-1, " + std::to_string(n_cat) + ")"));
    return c;
  }
  if (s.type == "nullable-integer" || s.type == "nullable-boolean" || s.type == "nullable-string-array") {
    Hid values(H5Dopen2(g, "values", H5P_DEFAULT));
    Hid mask(H5Dopen2(g, "mask", H5P_DEFAULT));
    if (!values.valid() || !mask.valid()) bad(key, s.type + " without values/mask");
    check_length(values, key + "/values");
    check_length(mask, key + "/mask");
    if (s.type == "nullable-string-array") {
      c.kind = Column::Kind::nullable_string;
      c.strings = h5::read_strings(values, rows.begin, rows.count, dxpl(rows));
    } else {
      c.kind = s.type == "nullable-integer" ? Column::Kind::nullable_integer : Column::Kind::nullable_boolean;
      c.values = read_numeric(values, key + "/values", rows, rows.distributed);
    }
    Array m = read_numeric(mask, key + "/mask", rows, rows.distributed).converted(DType::u8);
    c.mask.assign(m.data<uint8_t>(), m.data<uint8_t>() + m.size());
    return c;
  }
  bad(key, "unsupported encoding '" + s.type + "' (version " + s.version + ") for a dataframe column");
}

DataFrame Reader::read_dataframe(hid_t loc, const std::string& name, const std::string& key, Rows rows) {
  const Spec s = spec(loc, name, key);
  if (!s.group) bad(key, "expected a dataframe group");
  if (s.type != "" && s.type != "dataframe") bad(key, "unsupported encoding '" + s.type + "' for a dataframe");
  Hid g(H5Gopen2(loc, name.c_str(), H5P_DEFAULT));
  DataFrame df;
  df.index_key = h5::has_attr(g, "_index") ? h5::read_string_attr(g, "_index") : "_index";
  Hid index(H5Dopen2(g, df.index_key.c_str(), H5P_DEFAULT));
  if (!index.valid()) bad(key + "/" + df.index_key, "the dataframe's index is missing");
  df.index = h5::read_strings(index, rows.begin, rows.count, dxpl(rows));
  if (h5::has_attr(g, "column-order")) df.column_order = h5::read_string_array_attr(g, "column-order");
  for (const auto& col : df.column_order) {
    if (!h5::exists(g, col)) bad(key + "/" + col, "listed in column-order but missing");
    df.columns[col] = read_column(g, col, key + "/" + col, rows);
  }
  return df;
}

CsrMatrix Reader::read_csc_as_csr(hid_t g, const std::string& key, Rows rows, int64_t cols, const std::vector<int64_t>& shape) {
  // CSC has no row slabs: every rank reads the whole (usually small) matrix and keeps its rows.
  Hid indptr_ds(H5Dopen2(g, "indptr", H5P_DEFAULT)), indices_ds(H5Dopen2(g, "indices", H5P_DEFAULT)),
      data_ds(H5Dopen2(g, "data", H5P_DEFAULT));
  const int64_t ncols = shape[1], nnz = h5::dims(data_ds).at(0);
  if (h5::dims(indptr_ds).at(0) != ncols + 1) bad(key + "/indptr", "has " + std::to_string(h5::dims(indptr_ds)[0]) + " entries, shape says " + std::to_string(ncols) + " columns (+1)");
  Array indptr(DType::i64, static_cast<size_t>(ncols + 1));
  h5::read_rows(indptr_ds, 0, ncols + 1, indptr, H5P_DEFAULT);
  Array indices(DType::i64, static_cast<size_t>(nnz));
  h5::read_rows(indices_ds, 0, nnz, indices, H5P_DEFAULT);
  Hid dtype(H5Dget_type(data_ds));
  Array data(h5::dtype_of_type(dtype, path_, key + "/data"), static_cast<size_t>(nnz));
  h5::read_rows(data_ds, 0, nnz, data, H5P_DEFAULT);
  const int64_t* p = indptr.data<int64_t>();
  const int64_t* ix = indices.data<int64_t>();
  if (p[0] != 0 || p[ncols] != nnz) bad(key + "/indptr", "must start at 0 and end at nnz = " + std::to_string(nnz));
  std::vector<int64_t> row_count(static_cast<size_t>(rows.count), 0);
  for (int64_t c = 0; c < ncols; ++c) {
    if (p[c + 1] < p[c]) bad(key + "/indptr", "not monotone at column " + std::to_string(c));
    for (int64_t k = p[c]; k < p[c + 1]; ++k) {
      if (ix[k] < 0 || ix[k] >= shape[0]) bad(key + "/indices", "row index " + std::to_string(ix[k]) + " outside [0, " + std::to_string(shape[0]) + ")");
      if (ix[k] >= rows.begin && ix[k] < rows.begin + rows.count) row_count[static_cast<size_t>(ix[k] - rows.begin)]++;
    }
  }
  CsrMatrix m = CsrMatrix::with_shape(rows.count, cols, data.dtype());
  for (int64_t r = 0; r < rows.count; ++r) m.indptr[static_cast<size_t>(r + 1)] = m.indptr[static_cast<size_t>(r)] + row_count[static_cast<size_t>(r)];
  m.indices = Array(index_dtype_for(cols), static_cast<size_t>(m.nnz()));
  m.data = Array(data.dtype(), static_cast<size_t>(m.nnz()));
  std::vector<int64_t> fill(m.indptr.begin(), m.indptr.end() - 1);
  const size_t w = dtype_size(data.dtype());
  for (int64_t c = 0; c < ncols; ++c) {
    for (int64_t k = p[c]; k < p[c + 1]; ++k) {
      if (ix[k] < rows.begin || ix[k] >= rows.begin + rows.count) continue;
      const int64_t dst = fill[static_cast<size_t>(ix[k] - rows.begin)]++;
      if (m.indices.dtype() == DType::i32) m.indices.data<int32_t>()[dst] = static_cast<int32_t>(c);
      else m.indices.data<int64_t>()[dst] = c;
      std::memcpy(static_cast<unsigned char*>(m.data.raw()) + dst * w, static_cast<const unsigned char*>(data.raw()) + k * w, w);
    }
  }
  m.file_indices_dtype = m.indices.dtype();
  m.file_indptr_dtype = index_dtype_for(m.nnz());
  return m;
}

CsrMatrix Reader::read_sparse(hid_t loc_group, const Spec& s, const std::string& key, Rows rows, int64_t cols) {
  hid_t g = loc_group;
  for (const char* part : {"data", "indices", "indptr"})
    if (!h5::exists(g, part)) bad(key + "/" + part, "missing from the sparse matrix group");
  std::vector<int64_t> shape;
  if (h5::has_attr(g, "shape")) shape = h5::read_int_array_attr(g, "shape");
  else if (h5::has_attr(g, "h5sparse_shape")) shape = h5::read_int_array_attr(g, "h5sparse_shape");
  else bad(key, "sparse matrix without a 'shape' attribute");
  if (shape.size() != 2) bad(key, "'shape' attribute must hold 2 numbers");
  if (shape[0] != rows.total || (cols >= 0 && shape[1] != cols))
    bad(key, "shape attribute says " + std::to_string(shape[0]) + " × " + std::to_string(shape[1]) + ", expected " +
                 std::to_string(rows.total) + " × " + (cols >= 0 ? std::to_string(cols) : std::string("any")));
  cols = shape[1];
  if (s.type == "csc_matrix") return read_csc_as_csr(g, key, rows, cols, shape);

  Hid indptr_ds(H5Dopen2(g, "indptr", H5P_DEFAULT)), indices_ds(H5Dopen2(g, "indices", H5P_DEFAULT)),
      data_ds(H5Dopen2(g, "data", H5P_DEFAULT));
  const auto indptr_dims = h5::dims(indptr_ds), data_dims = h5::dims(data_ds), indices_dims = h5::dims(indices_ds);
  if (indptr_dims.size() != 1 || indptr_dims[0] != shape[0] + 1)
    bad(key + "/indptr", "has " + std::to_string(indptr_dims.empty() ? 0 : indptr_dims[0]) + " entries but the shape attribute says " +
                             std::to_string(shape[0]) + " rows (expected rows + 1)");
  if (data_dims.size() != 1 || indices_dims.size() != 1 || data_dims[0] != indices_dims[0])
    bad(key, "data and indices differ in length (" + std::to_string(data_dims.at(0)) + " vs " + std::to_string(indices_dims.at(0)) + ")");
  const int64_t nnz = data_dims[0];
  Hid indptr_type(H5Dget_type(indptr_ds)), indices_type(H5Dget_type(indices_ds)), data_type(H5Dget_type(data_ds));
  CsrMatrix m;
  m.rows = rows.count;
  m.cols = cols;
  m.file_indptr_dtype = h5::dtype_of_type(indptr_type, path_, key + "/indptr");
  m.file_indices_dtype = h5::dtype_of_type(indices_type, path_, key + "/indices");
  if (!dtype_is_integer(m.file_indptr_dtype) || !dtype_is_integer(m.file_indices_dtype))
    bad(key, "indptr and indices must be integers");
  const DType value_dtype = h5::dtype_of_type(data_type, path_, key + "/data");

  Array indptr(DType::i64, static_cast<size_t>(rows.count + 1));
  h5::read_rows(indptr_ds, rows.begin, rows.count + 1, indptr, dxpl(rows));
  const int64_t* p = indptr.data<int64_t>();
  std::string problem;
  if (rows.begin == 0 && p[0] != 0) problem = "indptr[0] is " + std::to_string(p[0]) + ", must be 0";
  for (int64_t r = 0; r <= rows.count && problem.empty(); ++r)
    if (p[r] < 0 || p[r] > nnz) problem = "indptr[" + std::to_string(rows.begin + r) + "] = " + std::to_string(p[r]) + " is outside [0, nnz = " + std::to_string(nnz) + "]";
  for (int64_t r = 0; r < rows.count && problem.empty(); ++r)
    if (p[r + 1] < p[r]) problem = "indptr is not monotone at row " + std::to_string(rows.begin + r);
  if (problem.empty() && rows.begin + rows.count == rows.total && p[rows.count] != nnz)
    problem = "indptr ends at " + std::to_string(p[rows.count]) + " but data holds " + std::to_string(nnz) + " values";
  agree(comm_, problem.empty(), describe(path_, key + "/indptr", problem));

  const int64_t first = p[0], local_nnz = p[rows.count] - p[0];
  m.indptr.resize(static_cast<size_t>(rows.count + 1));
  for (int64_t r = 0; r <= rows.count; ++r) m.indptr[static_cast<size_t>(r)] = p[r] - first;
  indptr = Array();
  // The slab of indices and data: one collective read each.
  m.indices = Array(index_dtype_for(cols), static_cast<size_t>(local_nnz));
  h5::read_rows(indices_ds, first, local_nnz, m.indices, dxpl(rows));
  m.data = Array(value_dtype, static_cast<size_t>(local_nnz));
  h5::read_rows(data_ds, first, local_nnz, m.data, dxpl(rows));
  int64_t bad_index = -1, bad_row = -1;
  auto scan = [&](const auto* ix) {
    for (int64_t r = 0; r < rows.count && bad_row < 0; ++r)
      for (int64_t k = m.indptr[static_cast<size_t>(r)]; k < m.indptr[static_cast<size_t>(r + 1)]; ++k) {
        const int64_t c = static_cast<int64_t>(ix[k]);
        if (c < 0 || c >= cols) { bad_index = c; bad_row = rows.begin + r; break; }
      }
  };
  if (m.indices.dtype() == DType::i32) scan(m.indices.data<int32_t>());
  else scan(m.indices.data<int64_t>());
  agree(comm_, bad_row < 0,
        describe(path_, key + "/indices", "column index " + std::to_string(bad_index) + " in row " + std::to_string(bad_row) +
                                               " is outside [0, " + std::to_string(cols) + ")"));
  return m;
}

DenseArray Reader::read_dense(hid_t ds, const std::string& key, Rows rows, int64_t cols) {
  const auto d = h5::dims(ds);
  if (d.empty()) bad(key, "expected an array with a row per " + std::string(rows.distributed ? "cell" : "gene") + ", found a scalar");
  if (d[0] != rows.total) bad(key, "has " + std::to_string(d[0]) + " rows, expected " + std::to_string(rows.total));
  if (cols >= 0 && (d.size() != 2 || d[1] != cols))
    bad(key, "has shape " + std::to_string(d[0]) + " × " + (d.size() > 1 ? std::to_string(d[1]) : std::string("-")) + ", expected " +
                 std::to_string(rows.total) + " × " + std::to_string(cols));
  Hid type(H5Dget_type(ds));
  if (h5::is_string_type(type)) bad(key, "holds strings, expected numbers");
  DenseArray a;
  a.shape = d;
  a.shape[0] = rows.count;
  a.values = read_numeric(ds, key, rows, rows.distributed);
  return a;
}

Matrix Reader::read_matrix(hid_t loc, const std::string& name, const std::string& key, Rows rows, int64_t cols) {
  const Spec s = spec(loc, name, key);
  if (s.group) {
    if (s.type != "csr_matrix" && s.type != "csc_matrix")
      bad(key, s.type.empty() ? "a group without an encoding-type where a matrix was expected"
                              : "unsupported encoding '" + s.type + "' (version " + s.version + ") where a matrix was expected");
    Hid g(H5Gopen2(loc, name.c_str(), H5P_DEFAULT));
    return read_sparse(g, s, key, rows, cols);
  }
  if (s.type != "" && s.type != "array") bad(key, "unsupported encoding '" + s.type + "' (version " + s.version + ") for a matrix");
  Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  return read_dense(ds, key, rows, cols);
}

std::map<std::string, Matrix> Reader::read_matrix_group(const std::string& group, Rows rows, int64_t cols) {
  std::map<std::string, Matrix> out;
  if (!h5::exists(file_, group)) return out;
  Hid g(H5Gopen2(file_, group.c_str(), H5P_DEFAULT));
  for (const auto& name : h5::children(g)) out.emplace(name, read_matrix(g, name, group + "/" + name, rows, cols));
  return out;
}

DistMatrix Reader::read_obsp(hid_t loc, const std::string& name, const std::string& key) {
  const Rows rows{true, d_.obs_begin, d_.n_obs_local, d_.n_obs};
  Matrix m = read_matrix(loc, name, key, rows, d_.n_obs);
  std::vector<int64_t> indptr{0}, cols;
  std::vector<double> values;
  DType dtype = DType::f32;
  if (auto* c = std::get_if<CsrMatrix>(&m)) {
    indptr = c->indptr;
    cols.resize(static_cast<size_t>(c->nnz()));
    for (int64_t k = 0; k < c->nnz(); ++k) cols[static_cast<size_t>(k)] = c->index(k);
    values = c->data.to_double();
    dtype = c->data.dtype();
  } else {
    // A dense cell × cell array in the file: kept as its nonzeros, never densely in memory
    // beyond this rank's rows, and written back sparse.
    const auto& a = std::get<DenseArray>(m);
    dtype = a.values.dtype();
    for (int64_t r = 0; r < a.rows(); ++r) {
      for (int64_t j = 0; j < a.row_stride(); ++j) {
        const double v = a.values.as_double(static_cast<size_t>(r * a.row_stride() + j));
        if (v != 0) { cols.push_back(j); values.push_back(v); }
      }
      indptr.push_back(static_cast<int64_t>(cols.size()));
    }
  }
  return DistMatrix::from_local_csr(comm_, d_.n_obs_local, d_.n_obs, indptr, cols, values, dtype);
}

UnsNode Reader::read_uns(hid_t loc, const std::string& name, const std::string& key) {
  const Spec s = spec(loc, name, key);
  if (s.group) {
    Hid g(H5Gopen2(loc, name.c_str(), H5P_DEFAULT));
    if (s.type == "" || s.type == "dict") {
      UnsNode n = UnsNode::dict();
      for (const auto& child : h5::children(g)) n.children.emplace(child, read_uns(g, child, key + "/" + child));
      return n;
    }
    if (s.type == "csr_matrix" || s.type == "csc_matrix") {
      std::vector<int64_t> shape = h5::has_attr(g, "shape") ? h5::read_int_array_attr(g, "shape") : std::vector<int64_t>{};
      if (shape.size() != 2) bad(key, "sparse matrix without a valid 'shape' attribute");
      UnsNode n;
      n.kind = UnsNode::Kind::sparse;
      n.sparse = read_sparse(g, s, key, all_rows(shape[0]), shape[1]);
      return n;
    }
    if (s.type == "dataframe") {
      UnsNode n;
      n.kind = UnsNode::Kind::dataframe;
      const int64_t rows = [&] {
        std::string ik = h5::has_attr(g, "_index") ? h5::read_string_attr(g, "_index") : "_index";
        Hid ix(H5Dopen2(g, ik.c_str(), H5P_DEFAULT));
        if (!ix.valid()) bad(key + "/" + ik, "the dataframe's index is missing");
        return h5::dims(ix).at(0);
      }();
      n.frame = read_dataframe(loc, name, key, all_rows(rows));
      return n;
    }
    bad(key, "unsupported encoding '" + s.type + "' (version " + s.version + ")");
  }
  if (s.type != "" && s.type != "string" && s.type != "string-array" && s.type != "numeric-scalar" && s.type != "array")
    bad(key, "unsupported encoding '" + s.type + "' (version " + s.version + ")");
  Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  Hid type(H5Dget_type(ds));
  const auto d = h5::dims(ds);
  if (h5::is_string_type(type)) {
    auto strings = h5::read_all_strings(ds);
    if (d.empty()) return UnsNode::string(strings.at(0));
    UnsNode n = UnsNode::string_array(std::move(strings));
    n.shape = d;
    return n;
  }
  DenseArray a;
  a.shape = d;
  int64_t rows = d.empty() ? 1 : d[0];
  a.values = read_numeric(ds, key, all_rows(rows), false);
  return UnsNode::numeric(std::move(a));
}

Dataset Reader::read() {
  open();
  d_.comm = comm_;
  d_.source = path_;
  d_.n_obs = index_length("obs");
  d_.n_vars = index_length("var");
  const BlockPartition part{d_.n_obs, size_};
  d_.obs_begin = part.begin(rank_);
  d_.n_obs_local = part.size(rank_);
  const Rows cells{true, d_.obs_begin, d_.n_obs_local, d_.n_obs};
  const Rows genes = all_rows(d_.n_vars);

  d_.obs = read_dataframe(file_, "obs", "obs", cells);
  d_.var = read_dataframe(file_, "var", "var", genes);
  if (h5::exists(file_, "X")) d_.X = read_matrix(file_, "X", "X", cells, d_.n_vars);
  d_.layers = read_matrix_group("layers", cells, d_.n_vars);
  d_.obsm = read_matrix_group("obsm", cells, -1);
  d_.varm = read_matrix_group("varm", genes, -1);
  d_.varp = read_matrix_group("varp", genes, d_.n_vars);
  if (options_.read_obsp && h5::exists(file_, "obsp")) {
    Hid g(H5Gopen2(file_, "obsp", H5P_DEFAULT));
    for (const auto& name : h5::children(g)) d_.obsp.emplace(name, read_obsp(g, name, "obsp/" + name));
  }
  if (h5::exists(file_, "uns")) d_.uns = read_uns(file_, "uns", "uns");
  if (h5::exists(file_, "raw") && h5::is_group(file_, "raw")) {
    Hid raw(H5Gopen2(file_, "raw", H5P_DEFAULT));
    if (!h5::exists(raw, "X") || !h5::exists(raw, "var")) bad("raw", "raw needs X and var");
    RawSlot r;
    {
      Hid var(H5Gopen2(raw, "var", H5P_DEFAULT));
      std::string ik = h5::has_attr(var, "_index") ? h5::read_string_attr(var, "_index") : "_index";
      Hid ix(H5Dopen2(var, ik.c_str(), H5P_DEFAULT));
      if (!ix.valid()) bad("raw/var/" + ik, "the dataframe's index is missing");
      const int64_t raw_vars = h5::dims(ix).at(0);
      r.var = read_dataframe(raw, "var", "raw/var", all_rows(raw_vars));
      r.X = read_matrix(raw, "X", "raw/X", cells, raw_vars);
      if (h5::exists(raw, "varm")) {
        Hid vm(H5Gopen2(raw, "varm", H5P_DEFAULT));
        for (const auto& name : h5::children(vm)) r.varm.emplace(name, read_matrix(vm, name, "raw/varm/" + name, all_rows(raw_vars), -1));
      }
    }
    d_.raw = std::move(r);
  }
  file_.reset();
  for (const auto& layer : options_.count_layers) {
    if (layer != "X" && !d_.layers.count(layer)) {
      std::string have;
      for (const auto& kv : d_.layers) have += (have.empty() ? "" : ", ") + kv.first;
      bad("layers/" + layer, "layer not present (this file has layers: " + (have.empty() ? std::string("none") : have) + ")");
    }
    validate_counts(d_, layer);
  }
  return std::move(d_);
}
}  // namespace

Dataset read_h5ad(const std::string& path, MPI_Comm comm, const ReadOptions& options) {
  // Errors are raised identically on every rank (all ranks read the same metadata; slab checks
  // are agreed); anything unexpected is turned into a message on every rank here.
  Reader reader(path, comm, options);
  Dataset d;
  std::string message;
  bool ok = true;
  try {
    d = reader.read();
  } catch (const Error& e) {
    ok = false;
    message = e.what();
    // The HDF5 helpers know no file name ("HDF5 failed in H5Aread (strings): bad global heap
    // collection signature" from a corrupt file, found by fuzzing): say which file.
    if (message.rfind(path + ": ", 0) != 0) message = describe(path, "", "corrupt or unreadable: " + message);
  } catch (const std::exception& e) {
    ok = false;
    message = describe(path, "", std::string("cannot read: ") + e.what());
  }
  agree(comm, ok, message);
  return d;
}

}  // namespace velofield
