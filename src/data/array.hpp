#pragma once
// A typed, contiguous 1-D buffer: the storage of every numeric slot. It keeps the dtype it was
// read with (float32 counts stay float32, int8 codes stay int8), so files round-trip exactly and
// memory per cell stays what the file needs.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"

namespace velofield {

enum class DType { f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, boolean };

size_t dtype_size(DType t);
const char* dtype_name(DType t);   // numpy's names: float32, int64, bool, ...
bool dtype_is_float(DType t);
bool dtype_is_integer(DType t);    // signed or unsigned (bool excluded)

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::i16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::u16; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::u32; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::u64; }

// Calls f(T{}) with the C++ type of dtype t (bool is stored as uint8_t).
template <class F>
decltype(auto) dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i8: return f(int8_t{});
    case DType::i16: return f(int16_t{});
    case DType::i32: return f(int32_t{});
    case DType::i64: return f(int64_t{});
    case DType::u8: return f(uint8_t{});
    case DType::u16: return f(uint16_t{});
    case DType::u32: return f(uint32_t{});
    case DType::u64: return f(uint64_t{});
    case DType::boolean: return f(uint8_t{});
  }
  return f(uint8_t{});
}

class Array {
 public:
  Array() = default;
  Array(DType dtype, size_t size) : dtype_(dtype), size_(size), bytes_(size * dtype_size(dtype)) {}
  template <class T>
  static Array from(const std::vector<T>& values, DType dtype = dtype_of<T>()) {
    Array a(dtype, values.size());
    if (!values.empty()) std::memcpy(a.bytes_.data(), values.data(), values.size() * sizeof(T));
    return a;
  }

  DType dtype() const { return dtype_; }
  size_t size() const { return size_; }
  size_t bytes() const { return bytes_.size(); }
  void* raw() { return bytes_.data(); }
  const void* raw() const { return bytes_.data(); }
  void resize(size_t n) { size_ = n; bytes_.resize(n * dtype_size(dtype_)); }

  template <class T> T* data() { check<T>(); return reinterpret_cast<T*>(bytes_.data()); }
  template <class T> const T* data() const { check<T>(); return reinterpret_cast<const T*>(bytes_.data()); }

  // Element i converted to double / int64, whatever the dtype.
  double as_double(size_t i) const;
  int64_t as_int64(size_t i) const;
  std::vector<double> to_double() const;
  std::vector<int64_t> to_int64() const;
  // A copy converted to another dtype (values cast as C++ casts them).
  Array converted(DType to) const;

  bool operator==(const Array& o) const {
    return dtype_ == o.dtype_ && size_ == o.size_ && bytes_ == o.bytes_;
  }
  bool operator!=(const Array& o) const { return !(*this == o); }

 private:
  template <class T> void check() const {
    if (sizeof(T) != dtype_size(dtype_)) throw Error(std::string("internal: Array of ") + dtype_name(dtype_) + " accessed with the wrong element size");
  }
  DType dtype_ = DType::f32;
  size_t size_ = 0;
  std::vector<unsigned char> bytes_;
};

}  // namespace velofield
