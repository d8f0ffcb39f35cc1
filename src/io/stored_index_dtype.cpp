#include "io/stored_index_dtype.hpp"

#include <limits>

#include "data/matrix.hpp"

namespace velofield {

int64_t dtype_max_index(DType t) {
  switch (t) {
    case DType::i8: return std::numeric_limits<int8_t>::max();
    case DType::u8: return std::numeric_limits<uint8_t>::max();
    case DType::i16: return std::numeric_limits<int16_t>::max();
    case DType::u16: return std::numeric_limits<uint16_t>::max();
    case DType::i32: return std::numeric_limits<int32_t>::max();
    case DType::u32: return std::numeric_limits<uint32_t>::max();
    case DType::i64:
    case DType::u64: return std::numeric_limits<int64_t>::max();
    default: return -1;   // not an integer dtype: nothing fits
  }
}

DType stored_index_dtype(DType file_dtype, int64_t max_value) {
  if (dtype_is_integer(file_dtype) && max_value <= dtype_max_index(file_dtype)) return file_dtype;
  return index_dtype_for(max_value);
}

}  // namespace velofield
