#pragma once
// Thin RAII and typed helpers over the HDF5 C API, used by the h5ad reader and writer.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/array.hpp"

namespace velofield::h5 {

// Owns an hid_t of any kind; closes it with H5Idec_ref.
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  ~Hid() { reset(); }
  Hid(Hid&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) { reset(); id_ = o.id_; o.id_ = -1; }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  operator hid_t() const { return id_; }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = -1;
};

// The innermost message of HDF5's error stack ("truncated file: eof = ..."), then clears it.
std::string last_error();

bool exists(hid_t loc, const std::string& name);          // a link at loc/name (one level)
bool is_group(hid_t loc, const std::string& name);
bool has_attr(hid_t obj, const std::string& name);
std::vector<std::string> children(hid_t group);            // link names, in name order

std::string read_string_attr(hid_t obj, const std::string& name);
std::vector<std::string> read_string_array_attr(hid_t obj, const std::string& name);
std::vector<int64_t> read_int_array_attr(hid_t obj, const std::string& name);
bool read_bool_attr(hid_t obj, const std::string& name);

// File type → velofield dtype; throws Error(describe(file, key, ...)) for unsupported types.
bool is_string_type(hid_t type);
bool is_bool_enum(hid_t type);
DType dtype_of_type(hid_t type, const std::string& file, const std::string& key);
// In-memory type for a dtype (bool → h5py's enum {FALSE, TRUE} over int8). Caller owns it.
Hid memory_type(DType dtype);

std::vector<int64_t> dims(hid_t dataset);

// Reads rows [row_begin, row_begin+rows) of a dataset (all trailing dimensions) into `out`,
// which must already have the right dtype and size. `dxpl` decides collective vs independent.
// Ranks with rows == 0 still take part (select none) so collective reads line up.
void read_rows(hid_t dataset, int64_t row_begin, int64_t rows, Array& out, hid_t dxpl);
// Strings of a 1-D string dataset (variable or fixed length, ASCII or UTF-8), rows [begin, begin+n).
std::vector<std::string> read_strings(hid_t dataset, int64_t begin, int64_t n, hid_t dxpl);
std::vector<std::string> read_all_strings(hid_t dataset, hid_t dxpl = H5P_DEFAULT);

void write_string_attr(hid_t obj, const std::string& name, const std::string& value);
void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_int_array_attr(hid_t obj, const std::string& name, const std::vector<int64_t>& values);
void write_bool_attr(hid_t obj, const std::string& name, bool value);
void write_encoding(hid_t obj, const std::string& type, const std::string& version);
// Variable-length UTF-8 string dataset (shape {} for a scalar).
void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const std::vector<int64_t>& shape);
// A numeric dataset written at once (serial writer).
void write_array(hid_t loc, const std::string& name, const Array& values, const std::vector<int64_t>& shape,
                 hid_t dcpl = H5P_DEFAULT);

// Property lists for reproducible files: no object timestamps.
Hid group_creation_plist();
Hid dataset_creation_plist();

}  // namespace velofield::h5
