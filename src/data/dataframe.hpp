#pragma once
// obs / var tables: an index of names and typed columns (anndata's dataframe encoding).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/array.hpp"

namespace velofield {

struct Column {
  enum class Kind { numeric, string, categorical, nullable_integer, nullable_boolean, nullable_string };
  Kind kind = Kind::numeric;
  Array values;                        // numeric values, categorical codes (-1 = missing), nullable values
  std::vector<std::string> strings;    // string and nullable-string values
  std::vector<uint8_t> mask;           // nullable kinds: 1 = missing
  // categorical only
  std::vector<std::string> categories; // string categories ...
  Array numeric_categories;            // ... or numeric ones (categories_numeric)
  bool categories_numeric = false;
  bool ordered = false;

  int64_t size() const;
  static Column numeric(Array values) { Column c; c.values = std::move(values); return c; }
  static Column text(std::vector<std::string> values) { Column c; c.kind = Kind::string; c.strings = std::move(values); return c; }
  static Column categorical(Array codes, std::vector<std::string> categories, bool ordered = false) {
    Column c;
    c.kind = Kind::categorical;
    c.values = std::move(codes);
    c.categories = std::move(categories);
    c.ordered = ordered;
    return c;
  }
  // The value of row i as a label ("Ductal", "3.5", "NA").
  std::string label(int64_t i) const;
  bool operator==(const Column& o) const;
};

const char* column_kind_name(Column::Kind k);

struct DataFrame {
  std::string index_key = "_index";     // name of the index dataset inside the group
  std::vector<std::string> index;       // row names (for obs: the rank's rows)
  std::vector<std::string> column_order;
  std::map<std::string, Column> columns;

  int64_t rows() const { return static_cast<int64_t>(index.size()); }
  bool has(const std::string& name) const { return columns.count(name) != 0; }
  // Adds or replaces a column, keeping column_order.
  void set(const std::string& name, Column column);
  bool operator==(const DataFrame& o) const {
    return index_key == o.index_key && index == o.index && column_order == o.column_order && columns == o.columns;
  }
};

}  // namespace velofield
