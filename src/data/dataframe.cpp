#include "data/dataframe.hpp"

#include <algorithm>
#include <cstdio>

namespace velofield {

int64_t Column::size() const {
  if (kind == Kind::string || kind == Kind::nullable_string) return static_cast<int64_t>(strings.size());
  return static_cast<int64_t>(values.size());
}

std::string Column::label(int64_t i) const {
  const size_t k = static_cast<size_t>(i);
  if ((kind == Kind::nullable_integer || kind == Kind::nullable_boolean || kind == Kind::nullable_string) &&
      mask[k])
    return "NA";
  switch (kind) {
    case Kind::string:
    case Kind::nullable_string: return strings[k];
    case Kind::categorical: {
      const int64_t code = values.as_int64(k);
      if (code < 0) return "NA";
      if (categories_numeric) {
        char b[64];
        std::snprintf(b, sizeof b, "%g", numeric_categories.as_double(static_cast<size_t>(code)));
        return b;
      }
      return categories[static_cast<size_t>(code)];
    }
    default: {
      char b[64];
      std::snprintf(b, sizeof b, "%g", values.as_double(k));
      return b;
    }
  }
}

bool Column::operator==(const Column& o) const {
  return kind == o.kind && values == o.values && strings == o.strings && mask == o.mask &&
         categories == o.categories && categories_numeric == o.categories_numeric &&
         (!categories_numeric || numeric_categories == o.numeric_categories) && ordered == o.ordered;
}

const char* column_kind_name(Column::Kind k) {
  switch (k) {
    case Column::Kind::numeric: return "numeric";
    case Column::Kind::string: return "string";
    case Column::Kind::categorical: return "categorical";
    case Column::Kind::nullable_integer: return "nullable-integer";
    case Column::Kind::nullable_boolean: return "nullable-boolean";
    case Column::Kind::nullable_string: return "nullable-string";
  }
  return "?";
}

void DataFrame::set(const std::string& name, Column column) {
  if (!has(name)) column_order.push_back(name);
  columns[name] = std::move(column);
}

}  // namespace velofield
