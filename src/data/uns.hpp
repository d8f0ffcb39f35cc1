#pragma once
// uns: a tree of dicts, scalars, strings, arrays, sparse matrices and dataframes, replicated on
// every rank.
#include <map>
#include <string>
#include <vector>

#include "data/dataframe.hpp"
#include "data/matrix.hpp"

namespace velofield {

struct UnsNode {
  enum class Kind { dict, string, string_array, numeric, sparse, dataframe };
  Kind kind = Kind::dict;
  std::map<std::string, UnsNode> children;   // dict
  std::string text;                          // string
  std::vector<std::string> strings;          // string_array (row-major, shape in `shape`)
  std::vector<int64_t> shape;                // string_array shape
  DenseArray array;                          // numeric: shape {} is a numeric scalar
  CsrMatrix sparse;                          // sparse (csr; csc is converted)
  DataFrame frame;                           // dataframe

  static UnsNode dict() { return UnsNode{}; }
  static UnsNode string(std::string s) { UnsNode n; n.kind = Kind::string; n.text = std::move(s); return n; }
  static UnsNode string_array(std::vector<std::string> s) {
    UnsNode n;
    n.kind = Kind::string_array;
    n.shape = {static_cast<int64_t>(s.size())};
    n.strings = std::move(s);
    return n;
  }
  static UnsNode numeric(DenseArray a) { UnsNode n; n.kind = Kind::numeric; n.array = std::move(a); return n; }
  template <class T>
  static UnsNode scalar(T v) {
    UnsNode n;
    n.kind = Kind::numeric;
    n.array.values = Array::from(std::vector<T>{v});
    return n;
  }
  // Path access: "simulation/n_cells". Throws velofield::Error naming the path when absent.
  const UnsNode& at(const std::string& path) const;
  bool contains(const std::string& path) const;
  UnsNode& operator[](const std::string& key) { return children[key]; }

  bool operator==(const UnsNode& o) const;
  bool operator!=(const UnsNode& o) const { return !(*this == o); }
};

}  // namespace velofield
