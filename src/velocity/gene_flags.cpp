#include "velocity/gene_flags.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace velofield {

std::vector<uint8_t> gene_flags(const Dataset& d, const std::string& column) {
  auto it = d.var.columns.find(column);
  if (it == d.var.columns.end()) fail(d.source, "var/" + column, "column not present");
  const Column& c = it->second;
  std::vector<uint8_t> out(static_cast<size_t>(d.n_vars), 0);
  if (c.kind == Column::Kind::numeric) {
    for (int64_t g = 0; g < d.n_vars; ++g) out[static_cast<size_t>(g)] = c.values.as_double(static_cast<size_t>(g)) != 0;
  } else if (c.kind == Column::Kind::nullable_boolean) {
    for (int64_t g = 0; g < d.n_vars; ++g)
      out[static_cast<size_t>(g)] = !c.mask[static_cast<size_t>(g)] && c.values.as_double(static_cast<size_t>(g)) != 0;
  } else {
    fail(d.source, "var/" + column, std::string("expected a boolean column, found a ") + column_kind_name(c.kind) + " one");
  }
  return out;
}

void set_gene_flags(Dataset& d, const std::string& column, const std::vector<uint8_t>& flags) {
  Array a(DType::boolean, flags.size());
  std::copy(flags.begin(), flags.end(), a.data<uint8_t>());
  d.var.set(column, Column::numeric(std::move(a)));
}

void set_gene_values(Dataset& d, const std::string& column, const std::vector<double>& values) {
  d.var.set(column, Column::numeric(Array::from(values)));
}

}  // namespace velofield
