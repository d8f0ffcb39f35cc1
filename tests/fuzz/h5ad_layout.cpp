#include "h5ad_layout.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "data/array.hpp"
#include "io/hdf5_util.hpp"

namespace velofield::fuzz {

namespace {
using h5::Hid;

// Small sizes keep one input around a millisecond; the reader's logic does not depend on size.
constexpr int kMaxObs = 6, kMaxVars = 5, kMaxDepth = 3;

const DType kIntTypes[] = {DType::i8, DType::i16, DType::i32, DType::i64, DType::u8, DType::u16, DType::u32, DType::u64};
const DType kAllTypes[] = {DType::f32, DType::f64, DType::i8, DType::i16, DType::i32, DType::i64,
                           DType::u8, DType::u16, DType::u32, DType::u64, DType::boolean};
const char* const kEncodings[] = {"", "array", "csr_matrix", "csc_matrix", "dict", "dataframe", "categorical",
                                  "string", "string-array", "numeric-scalar", "nullable-integer",
                                  "nullable-boolean", "nullable-string-array", "awkward-array", "anndata", "raw"};

class Layout {
 public:
  explicit Layout(FuzzedDataProvider& in) : in_(in) {}

  bool write(const std::string& path) {
    Hid f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f.valid()) return false;
    const int64_t n_obs = in_.ConsumeIntegralInRange(0, kMaxObs), n_vars = in_.ConsumeIntegralInRange(0, kMaxVars);
    if (in_.ConsumeBool()) h5::write_string_attr(f, "encoding-type", in_.ConsumeBool() ? "anndata" : pick_encoding());
    if (in_.ConsumeProbability<float>() > 0.05f) dataframe(f, "obs", near(n_obs));
    if (in_.ConsumeProbability<float>() > 0.05f) dataframe(f, "var", near(n_vars));
    if (in_.ConsumeBool()) matrix(f, "X", near(n_obs), near(n_vars));
    for (const char* group : {"layers", "obsm", "varm", "obsp", "varp"}) {
      if (!in_.ConsumeBool()) continue;
      Hid g = make_group(f, group);
      const int count = in_.ConsumeIntegralInRange(0, 3);
      const bool by_obs = group[0] == 'l' || group[3] == 'm' || group[3] == 'p';
      const bool square = group[3] == 'p';
      for (int i = 0; i < count; ++i) {
        const std::string name = i == 0 && group[0] == 'l' ? pick_layer_name() : in_.ConsumeRandomLengthString(8);
        if (name.empty() || name == "." || name.find('/') != std::string::npos || h5::exists(g, name)) continue;
        const int64_t rows = near(by_obs ? n_obs : n_vars);
        const int64_t cols = square ? near(by_obs ? n_obs : n_vars) : group[0] == 'l' ? near(n_vars)
                                                                                         : in_.ConsumeIntegralInRange(0, 4);
        matrix(g, name, rows, cols);
      }
    }
    if (in_.ConsumeBool()) uns(f, "uns", 0);
    if (in_.ConsumeBool()) {
      Hid raw = make_group(f, "raw");
      const int64_t raw_vars = near(n_vars);
      if (in_.ConsumeBool()) dataframe(raw, "var", raw_vars);
      if (in_.ConsumeBool()) matrix(raw, "X", near(n_obs), raw_vars);
    }
    return H5Fflush(f, H5F_SCOPE_LOCAL) >= 0;
  }

 private:
  // Mostly the right size, sometimes one off or zero: the disagreements the reader must catch.
  int64_t near(int64_t n) {
    switch (in_.ConsumeIntegralInRange(0, 9)) {
      case 0: return n + 1;
      case 1: return n > 0 ? n - 1 : 0;
      case 2: return 0;
      default: return n;
    }
  }
  std::string pick_encoding() { return kEncodings[in_.ConsumeIntegralInRange<size_t>(0, std::size(kEncodings) - 1)]; }
  std::string pick_layer_name() { return in_.PickValueInArray({"spliced", "unspliced", "X", "counts"}); }
  DType pick_int_type() { return in_.PickValueInArray(kIntTypes); }
  DType pick_type() { return in_.PickValueInArray(kAllTypes); }

  void encoding(hid_t obj, const std::string& type) {
    h5::write_string_attr(obj, "encoding-type", type);
    h5::write_string_attr(obj, "encoding-version", in_.ConsumeBool() ? "0.1.0" : "0.2.0");
  }
  Hid make_group(hid_t loc, const std::string& name) {
    Hid g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (in_.ConsumeBool()) encoding(g, in_.ConsumeBool() ? "dict" : pick_encoding());
    return g;
  }

  // Integer values: valid-looking (0..limit) most of the time, anything at all otherwise.
  std::vector<int64_t> ints(size_t n, int64_t limit) {
    std::vector<int64_t> v(n);
    for (auto& x : v) x = in_.ConsumeBool() ? in_.ConsumeIntegralInRange<int64_t>(0, std::max<int64_t>(limit, 0))
                                            : in_.ConsumeIntegral<int64_t>();
    return v;
  }
  std::vector<double> reals(size_t n) {
    std::vector<double> v(n);
    for (auto& x : v) {
      switch (in_.ConsumeIntegralInRange(0, 7)) {
        case 0: x = std::numeric_limits<double>::quiet_NaN(); break;
        case 1: x = std::numeric_limits<double>::infinity(); break;
        case 2: x = -in_.ConsumeFloatingPoint<double>(); break;
        default: x = in_.ConsumeIntegralInRange(0, 20); break;
      }
    }
    return v;
  }
  // A numeric dataset of the chosen dtype; values cast as C++ casts them (out-of-range wraps).
  void numbers(hid_t loc, const std::string& name, DType dtype, const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    Array a = dtype_is_float(dtype) ? Array::from(reals(static_cast<size_t>(n))).converted(dtype)
                                    : Array::from(ints(static_cast<size_t>(n), 8)).converted(dtype);
    h5::write_array(loc, name, a, shape);
  }
  void strings(hid_t loc, const std::string& name, int64_t n) {
    std::vector<std::string> v(static_cast<size_t>(n));
    for (auto& s : v) s = in_.ConsumeRandomLengthString(6);
    h5::write_strings(loc, name, v, {n});
  }
  // A dataset HDF5 can store but velofield does not read: a bitfield or a compound.
  void odd_type(hid_t loc, const std::string& name, int64_t n) {
    hsize_t d = static_cast<hsize_t>(n);
    Hid space(H5Screate_simple(1, &d, nullptr));
    Hid type(in_.ConsumeBool() ? H5Tcopy(H5T_STD_B8LE) : H5Tcreate(H5T_COMPOUND, 8));
    if (H5Tget_class(type) == H5T_COMPOUND) H5Tinsert(type, "a", 0, H5T_NATIVE_INT64);
    Hid ds(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }

  void sparse(hid_t loc, const std::string& name, int64_t rows, int64_t cols) {
    Hid g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const bool csc = in_.ConsumeBool();
    const int style = in_.ConsumeIntegralInRange(0, 5);
    if (style == 0) h5::write_string_attr(g, "h5sparse_format", csc ? "csc" : in_.ConsumeBool() ? "csr" : "coo");
    else if (style != 1) encoding(g, csc ? "csc_matrix" : "csr_matrix");
    const int shape_style = in_.ConsumeIntegralInRange(0, 9);
    const std::vector<int64_t> shape = shape_style == 0 ? std::vector<int64_t>{rows} : shape_style == 1 ? ints(2, 8)
                                                                                                        : std::vector<int64_t>{rows, cols};
    if (shape_style != 2) h5::write_int_array_attr(g, style == 0 && in_.ConsumeBool() ? "h5sparse_shape" : "shape", shape);
    else h5::write_string_attr(g, "shape", "2,3");
    const int64_t major = csc ? cols : rows, minor = csc ? rows : cols;
    // A valid pattern (monotone indptr, in-range indices) unless the input says otherwise.
    const int64_t nnz = in_.ConsumeIntegralInRange<int64_t>(0, std::max<int64_t>(major * minor, 0));
    std::vector<int64_t> indptr(static_cast<size_t>(near(major) + 1), 0);
    if (in_.ConsumeProbability<float>() < 0.8f) {
      for (size_t i = 1; i < indptr.size(); ++i)
        indptr[i] = std::min<int64_t>(nnz, indptr[i - 1] + in_.ConsumeIntegralInRange<int64_t>(0, std::max<int64_t>(minor, 0)));
      indptr.back() = nnz;
    } else {
      indptr = ints(indptr.size(), nnz + 1);
    }
    const int64_t stored = near(nnz);
    std::vector<int64_t> indices = ints(static_cast<size_t>(stored), std::max<int64_t>(minor - 1, 0));
    for (const char* part : {"indptr", "indices", "data"}) {
      if (in_.ConsumeProbability<float>() < 0.03f) continue;   // a missing part
      const std::string p = part;
      if (p == "data") {
        if (in_.ConsumeProbability<float>() < 0.05f) odd_type(g, p, stored);
        else numbers(g, p, pick_type(), {stored});
        continue;
      }
      const std::vector<int64_t>& v = p == "indptr" ? indptr : indices;
      const DType t = in_.ConsumeProbability<float>() < 0.1f ? pick_type() : pick_int_type();
      h5::write_array(g, p, Array::from(v).converted(t), {static_cast<int64_t>(v.size())});
    }
  }

  void dense(hid_t loc, const std::string& name, int64_t rows, int64_t cols) {
    const int kind = in_.ConsumeIntegralInRange(0, 9);
    if (kind == 0) return strings(loc, name, rows);
    if (kind == 1) return numbers(loc, name, pick_type(), {});
    if (kind == 2) return numbers(loc, name, pick_type(), {rows});
    if (kind == 3) return numbers(loc, name, pick_type(), {rows, cols, near(1)});
    if (kind == 4) return odd_type(loc, name, rows);
    numbers(loc, name, pick_type(), {rows, cols});
    if (in_.ConsumeBool()) {
      Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
      encoding(ds, in_.ConsumeBool() ? "array" : pick_encoding());
    }
  }

  void matrix(hid_t loc, const std::string& name, int64_t rows, int64_t cols) {
    if (in_.ConsumeBool()) sparse(loc, name, rows, cols);
    else dense(loc, name, rows, cols);
  }

  void column(hid_t frame, const std::string& name, int64_t n) {
    switch (in_.ConsumeIntegralInRange(0, 6)) {
      case 0: return strings(frame, name, near(n));
      case 1: return numbers(frame, name, pick_type(), {near(n)});
      case 2: {   // categorical: codes + categories
        Hid g(H5Gcreate2(frame, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        encoding(g, in_.ConsumeBool() ? "categorical" : pick_encoding());
        const int64_t n_cat = in_.ConsumeIntegralInRange(0, 4);
        if (in_.ConsumeBool()) strings(g, "categories", n_cat);
        else numbers(g, "categories", pick_type(), {n_cat});
        std::vector<int64_t> codes = ints(static_cast<size_t>(near(n)), n_cat);
        for (auto& c : codes) c -= in_.ConsumeBool() ? 1 : 0;   // -1 is "missing"
        h5::write_array(g, "codes", Array::from(codes).converted(pick_int_type()), {static_cast<int64_t>(codes.size())});
        if (in_.ConsumeBool()) h5::write_bool_attr(g, "ordered", in_.ConsumeBool());
        return;
      }
      case 3: {   // nullable-*
        Hid g(H5Gcreate2(frame, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        const std::string kind = in_.PickValueInArray({"nullable-integer", "nullable-boolean", "nullable-string-array"});
        encoding(g, kind);
        if (kind == "nullable-string-array" && in_.ConsumeBool()) strings(g, "values", near(n));
        else numbers(g, "values", pick_type(), {near(n)});
        numbers(g, "mask", DType::boolean, {near(n)});
        return;
      }
      case 4: {   // anndata 0.7 categorical: codes with an object reference to __categories/<name>
        Hid cats_group(H5Lexists(frame, "__categories", H5P_DEFAULT) > 0 ? H5Gopen2(frame, "__categories", H5P_DEFAULT)
                                                                           : H5Gcreate2(frame, "__categories", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        if (h5::exists(cats_group, name)) return;
        strings(cats_group, name, in_.ConsumeIntegralInRange(0, 3));
        numbers(frame, name, pick_int_type(), {near(n)});
        Hid ds(H5Dopen2(frame, name.c_str(), H5P_DEFAULT));
        hobj_ref_t ref;
        if (H5Rcreate(&ref, cats_group, name.c_str(), H5R_OBJECT, -1) < 0) return;
        hsize_t one = 1;
        Hid space(in_.ConsumeBool() ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &one, nullptr));
        Hid attr(H5Acreate2(ds, "categories", H5T_STD_REF_OBJ, space, H5P_DEFAULT, H5P_DEFAULT));
        H5Awrite(attr, H5T_STD_REF_OBJ, &ref);
        return;
      }
      case 5: return odd_type(frame, name, n);
      default: {   // a group where a column was expected
        Hid g(H5Gcreate2(frame, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        encoding(g, pick_encoding());
      }
    }
  }

  void dataframe(hid_t loc, const std::string& name, int64_t n) {
    if (in_.ConsumeProbability<float>() < 0.03f) return numbers(loc, name, DType::f64, {n});   // pre-0.7 layout stand-in
    Hid g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (in_.ConsumeBool()) encoding(g, in_.ConsumeBool() ? "dataframe" : pick_encoding());
    const std::string index_key = in_.ConsumeBool() ? "_index" : in_.PickValueInArray({"index", "cell", "_index"});
    if (in_.ConsumeProbability<float>() > 0.05f) h5::write_string_attr(g, "_index", index_key);
    const int index_kind = in_.ConsumeIntegralInRange(0, 19);
    if (index_kind == 0) numbers(g, index_key, DType::i64, {n});
    else if (index_kind == 1) numbers(g, index_key, DType::i64, {n, 2});
    else if (index_kind != 2) strings(g, index_key, n);
    std::vector<std::string> order;
    const int columns = in_.ConsumeIntegralInRange(0, 3);
    for (int i = 0; i < columns; ++i) {
      const std::string c = in_.ConsumeRandomLengthString(6);
      if (c.empty() || c == "." || c.find('/') != std::string::npos || c == index_key || c == "__categories" || h5::exists(g, c))
        continue;
      column(g, c, n);
      order.push_back(c);
    }
    if (in_.ConsumeProbability<float>() > 0.1f) h5::write_string_array_attr(g, "column-order", order);
  }

  void uns(hid_t loc, const std::string& name, int depth) {
    const int kind = in_.ConsumeIntegralInRange(0, depth >= kMaxDepth ? 4 : 6);
    switch (kind) {
      case 0: return numbers(loc, name, pick_type(), {});
      case 1: return numbers(loc, name, pick_type(), {in_.ConsumeIntegralInRange(0, 3), in_.ConsumeIntegralInRange(0, 2)});
      case 2: {
        h5::write_strings(loc, name, {in_.ConsumeRandomLengthString(8)}, {});
        Hid ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
        if (in_.ConsumeBool()) encoding(ds, in_.ConsumeBool() ? "string" : pick_encoding());
        return;
      }
      case 3: return strings(loc, name, in_.ConsumeIntegralInRange(0, 3));
      case 4: return sparse(loc, name, in_.ConsumeIntegralInRange(0, 3), in_.ConsumeIntegralInRange(0, 3));
      case 5: return dataframe(loc, name, in_.ConsumeIntegralInRange(0, 3));
      default: {
        Hid g = make_group(loc, name);
        const int children = in_.ConsumeIntegralInRange(0, 3);
        for (int i = 0; i < children; ++i) {
          const std::string c = in_.ConsumeRandomLengthString(6);
          if (c.empty() || c == "." || c.find('/') != std::string::npos || h5::exists(g, c)) continue;
          uns(g, c, depth + 1);
        }
      }
    }
  }

  FuzzedDataProvider& in_;
};
}  // namespace

bool write_fuzzed_h5ad(FuzzedDataProvider& in, const std::string& path) { return Layout(in).write(path); }

}  // namespace velofield::fuzz
