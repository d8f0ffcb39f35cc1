#include "transition/transition_genes.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace velofield {

namespace {

// A var column as numbers: numeric and boolean columns as they are, nullable ones with NaN where
// missing. Empty when the column is absent or not numeric.
std::vector<double> numbers(const Dataset& d, const std::string& name) {
  if (!d.var.has(name)) return {};
  const Column& c = d.var.columns.at(name);
  if (c.kind != Column::Kind::numeric && c.kind != Column::Kind::nullable_boolean && c.kind != Column::Kind::nullable_integer)
    return {};
  std::vector<double> v = c.values.to_double();
  for (size_t i = 0; i < v.size() && i < c.mask.size(); ++i)
    if (c.mask[i]) v[i] = std::nan("");
  return v;
}

}  // namespace

TransitionGenes transition_genes(const Dataset& d) {
  TransitionGenes out;
  const std::string key = "var/use_for_transition";
  if (d.var.has("use_for_transition")) {
    const std::vector<double> flag = numbers(d, "use_for_transition");
    if (flag.size() != static_cast<size_t>(d.n_vars))
      fail(d.source, key, std::string("expected a boolean column, found a ") + column_kind_name(d.var.columns.at("use_for_transition").kind) + " one");
    for (int64_t g = 0; g < d.n_vars; ++g)
      if (flag[static_cast<size_t>(g)] != 0 && !std::isnan(flag[static_cast<size_t>(g)])) out.genes.push_back(g);
    out.origin = key;
    if (out.genes.empty())
      fail(d.source, key,
           "no gene is marked for transition (0 of " + std::to_string(d.n_vars) +
               "): the transition matrix needs the genes whose velocity was fitted; rerun `velofield dynamics` or mark genes");
    return out;
  }
  // dynamo's set_velocity_genes for conventional data (min_r2 = min_gamma = 0.01).
  const std::vector<double> gamma = numbers(d, "gamma"), r2 = numbers(d, "gamma_r2"), dyn = numbers(d, "use_for_dynamics");
  if (gamma.size() != static_cast<size_t>(d.n_vars) || r2.size() != static_cast<size_t>(d.n_vars))
    fail(d.source, key,
         "not present, and var has no numeric 'gamma' and 'gamma_r2' to derive it from (dynamo's rule): run `velofield "
         "dynamics` first, or add the column");
  out.derived = true;
  for (int64_t g = 0; g < d.n_vars; ++g) {
    const size_t u = static_cast<size_t>(g);
    const bool fitted = dyn.empty() || (dyn[u] != 0 && !std::isnan(dyn[u]));
    if (gamma[u] > 0.01 && r2[u] > 0.01 && fitted) out.genes.push_back(g);   // NaN compares false
  }
  out.origin = "derived from var gamma > 0.01, gamma_r2 > 0.01" + std::string(dyn.empty() ? "" : " and use_for_dynamics");
  if (out.genes.size() < 5 && d.n_vars > 5) {
    // dynamo's fallback: the 50 genes of largest |gamma_r2|. dynamo ranks the non-NaN values but
    // uses the ranks as positions in the whole var table (quirk 26); these are the real top genes.
    std::vector<int64_t> fitted;
    for (int64_t g = 0; g < d.n_vars; ++g)
      if (!std::isnan(r2[static_cast<size_t>(g)])) fitted.push_back(g);
    const size_t keep = std::min<size_t>(50, fitted.size());
    std::partial_sort(fitted.begin(), fitted.begin() + static_cast<std::ptrdiff_t>(keep), fitted.end(), [&](int64_t a, int64_t b) {
      const double x = std::fabs(r2[static_cast<size_t>(a)]), y = std::fabs(r2[static_cast<size_t>(b)]);
      return x != y ? x > y : a < b;
    });
    fitted.resize(keep);
    std::sort(fitted.begin(), fitted.end());
    out.genes = fitted;
    out.origin += "; fewer than 5 passed, so the " + std::to_string(keep) + " genes of largest |gamma_r2|";
  }
  if (out.genes.empty())
    fail(d.source, key, "not present, and no gene has a fitted gamma_r2 to derive it from: run `velofield dynamics` first");
  return out;
}

void store_transition_genes(Dataset& d, const std::vector<int64_t>& genes) {
  std::vector<uint8_t> flag(static_cast<size_t>(d.n_vars), 0);
  for (int64_t g : genes) flag[static_cast<size_t>(g)] = 1;
  Array values = Array::from(flag, DType::boolean);
  d.var.set("use_for_transition", Column::numeric(std::move(values)));
}

}  // namespace velofield
