#include "data/array.hpp"

namespace velofield {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: case DType::u32: return 4;
    case DType::f64: case DType::i64: case DType::u64: return 8;
    case DType::i16: case DType::u16: return 2;
    case DType::i8: case DType::u8: case DType::boolean: return 1;
  }
  return 1;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i8: return "int8";
    case DType::i16: return "int16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
    case DType::boolean: return "bool";
  }
  return "?";
}

bool dtype_is_float(DType t) { return t == DType::f32 || t == DType::f64; }
bool dtype_is_integer(DType t) { return !dtype_is_float(t) && t != DType::boolean; }

double Array::as_double(size_t i) const {
  return dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(reinterpret_cast<const T*>(bytes_.data())[i]);
  });
}

int64_t Array::as_int64(size_t i) const {
  return dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<int64_t>(reinterpret_cast<const T*>(bytes_.data())[i]);
  });
}

std::vector<double> Array::to_double() const {
  std::vector<double> out(size_);
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* p = reinterpret_cast<const T*>(bytes_.data());
    for (size_t i = 0; i < size_; ++i) out[i] = static_cast<double>(p[i]);
    return 0;
  });
  return out;
}

std::vector<int64_t> Array::to_int64() const {
  std::vector<int64_t> out(size_);
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* p = reinterpret_cast<const T*>(bytes_.data());
    for (size_t i = 0; i < size_; ++i) out[i] = static_cast<int64_t>(p[i]);
    return 0;
  });
  return out;
}

Array Array::converted(DType to) const {
  if (to == dtype_) return *this;
  Array out(to, size_);
  dispatch_dtype(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* src = reinterpret_cast<const From*>(bytes_.data());
    return dispatch_dtype(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* dst = reinterpret_cast<To*>(out.raw());
      for (size_t i = 0; i < size_; ++i) {
        if (to == DType::boolean) dst[i] = static_cast<To>(src[i] != From{});
        else dst[i] = static_cast<To>(src[i]);
      }
      return 0;
    });
  });
  return out;
}

}  // namespace velofield
