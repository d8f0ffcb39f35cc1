#include "io/hdf5_util.hpp"

#include <cstring>

#include "core/error.hpp"

namespace velofield::h5 {

void Hid::reset() {
  if (id_ >= 0 && H5Iis_valid(id_) > 0) H5Idec_ref(id_);
  id_ = -1;
}

namespace {
herr_t collect_innermost(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n == 0 && err->desc) *out = err->desc;
  return 0;
}

void check(herr_t status, const char* what) {
  if (status < 0) throw Error(std::string("HDF5 failed in ") + what + ": " + last_error());
}

Hid check_id(hid_t id, const char* what) {
  if (id < 0) throw Error(std::string("HDF5 failed in ") + what + ": " + last_error());
  return Hid(id);
}

Hid utf8_vlen_type() {
  Hid t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

std::vector<std::string> read_string_values(hid_t obj, hid_t file_type, hid_t space, bool is_attr, hid_t memspace,
                                            hid_t dxpl, size_t n) {
  std::vector<std::string> out(n);
  if (H5Tis_variable_str(file_type) > 0) {
    Hid mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(file_type));
    std::vector<char*> ptrs(std::max<size_t>(n, 1), nullptr);
    if (is_attr) check(H5Aread(obj, mem, ptrs.data()), "H5Aread (strings)");
    else check(H5Dread(obj, mem, memspace, space, dxpl, ptrs.data()), "H5Dread (strings)");
    for (size_t i = 0; i < n; ++i) {
      out[i] = ptrs[i] ? ptrs[i] : "";
      if (ptrs[i]) H5free_memory(ptrs[i]);
    }
  } else {
    const size_t width = H5Tget_size(file_type);
    Hid mem(H5Tcopy(file_type));
    std::vector<char> buf(std::max<size_t>(n * width, 1), '\0');
    if (is_attr) check(H5Aread(obj, mem, buf.data()), "H5Aread (strings)");
    else check(H5Dread(obj, mem, memspace, space, dxpl, buf.data()), "H5Dread (strings)");
    for (size_t i = 0; i < n; ++i) {
      const char* p = buf.data() + i * width;
      size_t len = strnlen(p, width);
      while (len > 0 && p[len - 1] == ' ' && H5Tget_strpad(file_type) == H5T_STR_SPACEPAD) --len;
      out[i].assign(p, len);
    }
  }
  return out;
}
}  // namespace

std::string last_error() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_innermost, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? "unknown HDF5 error" : message;
}

bool exists(hid_t loc, const std::string& name) {
  const htri_t r = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

bool is_group(hid_t loc, const std::string& name) {
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, name.c_str(), &info, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return info.type == H5O_TYPE_GROUP;
}

bool has_attr(hid_t obj, const std::string& name) {
  const htri_t r = H5Aexists(obj, name.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

namespace {
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> children(hid_t group) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names), "H5Literate");
  return names;
}

std::string read_string_attr(hid_t obj, const std::string& name) {
  Hid attr = check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Hid type(H5Aget_type(attr));
  if (H5Tget_class(type) != H5T_STRING) throw Error("attribute '" + name + "' is not a string");
  Hid space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n != 1) throw Error("attribute '" + name + "' is not a single string");
  return read_string_values(attr, type, space, true, H5S_ALL, H5P_DEFAULT, 1)[0];
}

std::vector<std::string> read_string_array_attr(hid_t obj, const std::string& name) {
  Hid attr = check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Hid type(H5Aget_type(attr));
  Hid space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n == 0) return {};
  if (H5Tget_class(type) != H5T_STRING) throw Error("attribute '" + name + "' is not a string array");
  return read_string_values(attr, type, space, true, H5S_ALL, H5P_DEFAULT, static_cast<size_t>(n));
}

std::vector<int64_t> read_int_array_attr(hid_t obj, const std::string& name) {
  Hid attr = check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Hid type(H5Aget_type(attr));
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) throw Error("attribute '" + name + "' is not numeric");
  Hid space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  std::vector<int64_t> out(static_cast<size_t>(std::max<hssize_t>(n, 0)));
  if (n > 0) check(H5Aread(attr, H5T_NATIVE_INT64, out.data()), "H5Aread");
  return out;
}

bool read_bool_attr(hid_t obj, const std::string& name) {
  Hid attr = check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen");
  Hid type(H5Aget_type(attr));
  int8_t v = 0;
  if (H5Tget_class(type) == H5T_ENUM) {
    Hid mem = memory_type(DType::boolean);
    check(H5Aread(attr, mem, &v), "H5Aread");
  } else {
    check(H5Aread(attr, H5T_NATIVE_INT8, &v), "H5Aread");
  }
  return v != 0;
}

bool is_string_type(hid_t type) { return H5Tget_class(type) == H5T_STRING; }

bool is_bool_enum(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_nmembers(type) != 2) return false;
  char* a = H5Tget_member_name(type, 0);
  char* b = H5Tget_member_name(type, 1);
  const bool ok = a && b && !std::strcmp(a, "FALSE") && !std::strcmp(b, "TRUE");
  H5free_memory(a);
  H5free_memory(b);
  return ok;
}

DType dtype_of_type(hid_t type, const std::string& file, const std::string& key) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) {
    if (size == 4) return DType::f32;
    if (size == 8) return DType::f64;
  } else if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1: return is_signed ? DType::i8 : DType::u8;
      case 2: return is_signed ? DType::i16 : DType::u16;
      case 4: return is_signed ? DType::i32 : DType::u32;
      case 8: return is_signed ? DType::i64 : DType::u64;
      default: break;
    }
  } else if (is_bool_enum(type)) {
    return DType::boolean;
  }
  fail(file, key, "unsupported element type (HDF5 class " + std::to_string(static_cast<int>(cls)) + ", " +
                      std::to_string(size) + " bytes); expected integers, float32/float64 or bool");
}

Hid memory_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return Hid(H5Tcopy(H5T_NATIVE_FLOAT));
    case DType::f64: return Hid(H5Tcopy(H5T_NATIVE_DOUBLE));
    case DType::i8: return Hid(H5Tcopy(H5T_NATIVE_INT8));
    case DType::i16: return Hid(H5Tcopy(H5T_NATIVE_INT16));
    case DType::i32: return Hid(H5Tcopy(H5T_NATIVE_INT32));
    case DType::i64: return Hid(H5Tcopy(H5T_NATIVE_INT64));
    case DType::u8: return Hid(H5Tcopy(H5T_NATIVE_UINT8));
    case DType::u16: return Hid(H5Tcopy(H5T_NATIVE_UINT16));
    case DType::u32: return Hid(H5Tcopy(H5T_NATIVE_UINT32));
    case DType::u64: return Hid(H5Tcopy(H5T_NATIVE_UINT64));
    case DType::boolean: {
      // h5py's representation of numpy bool: enum over int8 {FALSE = 0, TRUE = 1}.
      Hid t(H5Tenum_create(H5T_NATIVE_INT8));
      int8_t f = 0, tr = 1;
      H5Tenum_insert(t, "FALSE", &f);
      H5Tenum_insert(t, "TRUE", &tr);
      return t;
    }
  }
  return Hid(H5Tcopy(H5T_NATIVE_FLOAT));
}

std::vector<int64_t> dims(hid_t dataset) {
  Hid space(H5Dget_space(dataset));
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> d(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, d.data(), nullptr);
  return std::vector<int64_t>(d.begin(), d.end());
}

namespace {
// File and memory dataspaces selecting rows [begin, begin+rows) of `dataset`.
std::pair<Hid, Hid> row_selection(hid_t dataset, int64_t begin, int64_t rows) {
  Hid file_space(H5Dget_space(dataset));
  const int rank = H5Sget_simple_extent_ndims(file_space);
  if (rank == 0) {   // scalar dataset: everything or nothing
    Hid mem(H5Screate(H5S_SCALAR));
    if (rows == 0) { H5Sselect_none(file_space); H5Sselect_none(mem); }
    return {std::move(file_space), std::move(mem)};
  }
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(file_space, d.data(), nullptr);
  std::vector<hsize_t> start(d.size(), 0), count = d;
  start[0] = static_cast<hsize_t>(begin);
  count[0] = static_cast<hsize_t>(rows);
  if (rows == 0) {
    H5Sselect_none(file_space);
    hsize_t one = 1;
    Hid mem(H5Screate_simple(1, &one, nullptr));
    H5Sselect_none(mem);
    return {std::move(file_space), std::move(mem)};
  }
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), "H5Sselect_hyperslab");
  Hid mem(H5Screate_simple(rank, count.data(), nullptr));
  return {std::move(file_space), std::move(mem)};
}
}  // namespace

void read_rows(hid_t dataset, int64_t row_begin, int64_t rows, Array& out, hid_t dxpl) {
  auto [file_space, mem_space] = row_selection(dataset, row_begin, rows);
  Hid mem = memory_type(out.dtype());
  unsigned char dummy[16];
  void* buffer = out.size() > 0 ? out.raw() : dummy;
  check(H5Dread(dataset, mem, mem_space, file_space, dxpl, buffer), "H5Dread");
}

std::vector<std::string> read_strings(hid_t dataset, int64_t begin, int64_t n, hid_t dxpl) {
  Hid type(H5Dget_type(dataset));
  if (!is_string_type(type)) throw Error("not a string dataset");
  auto [file_space, mem_space] = row_selection(dataset, begin, n);
  return read_string_values(dataset, type, file_space, false, mem_space, dxpl, static_cast<size_t>(n));
}

std::vector<std::string> read_all_strings(hid_t dataset, hid_t dxpl) {
  Hid space(H5Dget_space(dataset));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  Hid type(H5Dget_type(dataset));
  if (!is_string_type(type)) throw Error("not a string dataset");
  return read_string_values(dataset, type, space, false, H5S_ALL, dxpl, static_cast<size_t>(n));
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  Hid type = utf8_vlen_type();
  Hid space(H5Screate(H5S_SCALAR));
  Hid attr = check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  const char* p = value.c_str();
  check(H5Awrite(attr, type, &p), "H5Awrite");
}

void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  Hid type = utf8_vlen_type();
  hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr));
  Hid attr = check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  if (n > 0) check(H5Awrite(attr, type, ptrs.data()), "H5Awrite");
}

void write_int_array_attr(hid_t obj, const std::string& name, const std::vector<int64_t>& values) {
  hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr));
  Hid attr = check_id(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  check(H5Awrite(attr, H5T_NATIVE_INT64, values.data()), "H5Awrite");
}

void write_bool_attr(hid_t obj, const std::string& name, bool value) {
  Hid type = memory_type(DType::boolean);
  Hid space(H5Screate(H5S_SCALAR));
  Hid attr = check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  int8_t v = value ? 1 : 0;
  check(H5Awrite(attr, type, &v), "H5Awrite");
}

void write_encoding(hid_t obj, const std::string& type, const std::string& version) {
  write_string_attr(obj, "encoding-type", type);
  write_string_attr(obj, "encoding-version", version);
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const std::vector<int64_t>& shape) {
  Hid type = utf8_vlen_type();
  Hid space;
  if (shape.empty()) {
    space = Hid(H5Screate(H5S_SCALAR));
  } else {
    std::vector<hsize_t> d(shape.begin(), shape.end());
    space = Hid(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
  }
  Hid dcpl = dataset_creation_plist();
  Hid ds = check_id(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  if (!ptrs.empty()) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "H5Dwrite");
}

void write_array(hid_t loc, const std::string& name, const Array& values, const std::vector<int64_t>& shape, hid_t dcpl) {
  Hid mem = memory_type(values.dtype());
  Hid space;
  if (shape.empty()) {
    space = Hid(H5Screate(H5S_SCALAR));
  } else {
    std::vector<hsize_t> d(shape.begin(), shape.end());
    space = Hid(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr));
  }
  Hid own_dcpl;
  if (dcpl == H5P_DEFAULT) {
    own_dcpl = dataset_creation_plist();
    dcpl = own_dcpl;
  }
  // Store in the little-endian standard type of the same width (what numpy/h5py write).
  Hid file_type(H5Tcopy(mem));
  if (values.dtype() != DType::boolean) H5Tset_order(file_type, H5T_ORDER_LE);
  Hid ds = check_id(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  if (values.size() > 0) check(H5Dwrite(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.raw()), "H5Dwrite");
}

Hid group_creation_plist() {
  Hid p(H5Pcreate(H5P_GROUP_CREATE));
  H5Pset_obj_track_times(p, 0);
  return p;
}

Hid dataset_creation_plist() {
  Hid p(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(p, 0);
  return p;
}

}  // namespace velofield::h5
