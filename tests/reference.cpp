#include "reference.hpp"

#include <hdf5.h>

#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "io/hdf5_util.hpp"
#include "test_support.hpp"

namespace velofield::test {

namespace {
h5::Hid open_reference() {
  const std::string path = dynamo_reference();
  if (path.empty()) throw Error("dynamo reference file absent");
  h5::Hid f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) throw Error(path + ": cannot open: " + h5::last_error());
  return f;
}
}  // namespace

std::string dynamo_reference() {
  const std::string p = shared_dir() + "/reference/dynamo/pancreas_supercell_3696_dynamo.h5";
  return std::filesystem::exists(p) ? p : std::string();
}

DenseArray reference_array(const std::string& name) {
  h5::Hid f = open_reference();
  h5::Hid ds(H5Dopen2(f, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw Error("reference: no dataset '" + name + "'");
  DenseArray a;
  a.shape = h5::dims(ds);
  a.values = Array(DType::f64, static_cast<size_t>(a.elements()));
  h5::read_rows(ds, 0, a.shape.empty() ? 1 : a.shape[0], a.values, H5P_DEFAULT);
  return a;
}

std::vector<std::string> reference_strings(const std::string& name) {
  h5::Hid f = open_reference();
  h5::Hid ds(H5Dopen2(f, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw Error("reference: no dataset '" + name + "'");
  return h5::read_all_strings(ds);
}

double reference_attr(const std::string& name) {
  h5::Hid f = open_reference();
  h5::Hid attr(H5Aopen(f, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) throw Error("reference: no root attribute '" + name + "'");
  double v = 0;
  if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0) throw Error("reference: attribute '" + name + "' is not numeric");
  return v;
}

CsrMatrix reference_csr(const std::string& prefix, int64_t cols) {
  DenseArray data = reference_array(prefix + "_data");
  DenseArray indices = reference_array(prefix + "_indices");
  DenseArray indptr = reference_array(prefix + "_indptr");
  CsrMatrix m;
  m.rows = indptr.shape.at(0) - 1;
  m.cols = cols;
  m.indptr = indptr.values.to_int64();
  m.indices = indices.values.converted(index_dtype_for(cols));
  m.data = data.values;
  return m;
}

DenseArray rows_of(const DenseArray& global, const Dataset& d) {
  DenseArray out;
  out.shape = global.shape;
  out.shape[0] = d.n_obs_local;
  const int64_t stride = global.row_stride();
  out.values = Array(global.values.dtype(), static_cast<size_t>(d.n_obs_local * stride));
  const size_t w = dtype_size(global.values.dtype());
  std::memcpy(out.values.raw(), static_cast<const unsigned char*>(global.values.raw()) + d.obs_begin * stride * static_cast<int64_t>(w),
              static_cast<size_t>(d.n_obs_local * stride) * w);
  return out;
}

CsrMatrix rows_of(const CsrMatrix& global, const Dataset& d) {
  CsrMatrix m;
  m.rows = d.n_obs_local;
  m.cols = global.cols;
  const int64_t first = global.indptr[static_cast<size_t>(d.obs_begin)];
  const int64_t last = global.indptr[static_cast<size_t>(d.obs_begin + d.n_obs_local)];
  m.indptr.resize(static_cast<size_t>(m.rows + 1));
  for (int64_t r = 0; r <= m.rows; ++r) m.indptr[static_cast<size_t>(r)] = global.indptr[static_cast<size_t>(d.obs_begin + r)] - first;
  auto slice = [&](const Array& a) {
    Array out(a.dtype(), static_cast<size_t>(last - first));
    const size_t w = dtype_size(a.dtype());
    std::memcpy(out.raw(), static_cast<const unsigned char*>(a.raw()) + first * static_cast<int64_t>(w), static_cast<size_t>(last - first) * w);
    return out;
  };
  m.indices = slice(global.indices);
  m.data = slice(global.data);
  m.file_indices_dtype = m.indices.dtype();
  return m;
}

}  // namespace velofield::test
