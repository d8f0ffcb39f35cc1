#include "plot/topography_slots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace velofield::plot {

namespace {

std::vector<double> points_of(const UnsNode& node, const std::string& where) {
  if (node.kind != UnsNode::Kind::numeric) throw Error(where + ": expected a numeric (k, 2) array");
  const auto& shape = node.array.shape;
  const bool ok = (shape.size() == 2 && shape[1] == 2) || (shape.size() == 1 && shape[0] == 2) || (shape.size() == 2 && shape[0] == 0);
  if (!ok) throw Error(where + ": expected shape (k, 2)");
  return node.array.values.to_double();
}

// dynamo's NCx/NCy: a dict of pieces keyed "0", "1", …, taken in numeric order.
std::vector<std::vector<double>> curves_of(const UnsNode& vecfld, const std::string& key, const std::string& where) {
  std::vector<std::vector<double>> out;
  auto it = vecfld.children.find(key);
  if (it == vecfld.children.end()) return out;
  if (it->second.kind == UnsNode::Kind::numeric) {   // one curve stored as an array
    out.push_back(points_of(it->second, where + "/" + key));
    return out;
  }
  if (it->second.kind != UnsNode::Kind::dict) throw Error(where + "/" + key + ": expected a dict of (k, 2) arrays");
  std::vector<std::pair<long long, std::string>> names;
  for (const auto& [name, child] : it->second.children) {
    char* end = nullptr;
    const long long v = std::strtoll(name.c_str(), &end, 10);
    names.push_back({end && *end == 0 && !name.empty() ? v : -1, name});
  }
  std::sort(names.begin(), names.end());
  for (const auto& [v, name] : names) out.push_back(points_of(it->second.children.at(name), where + "/" + key + "/" + name));
  return out;
}

std::optional<std::array<double, 2>> limits_of(const UnsNode& vecfld, const std::string& key, const std::string& where) {
  auto it = vecfld.children.find(key);
  if (it == vecfld.children.end()) return std::nullopt;
  const std::vector<double> v = it->second.kind == UnsNode::Kind::numeric ? it->second.array.values.to_double() : std::vector<double>{};
  if (v.size() != 2 || !std::isfinite(v[0]) || !std::isfinite(v[1]) || !(v[1] > v[0]))
    throw Error(where + "/" + key + ": expected two finite numbers [low, high] with low < high");
  return std::array<double, 2>{v[0], v[1]};
}

UnsNode array_node(std::vector<int64_t> shape, const std::vector<double>& values) {
  DenseArray a;
  a.shape = std::move(shape);
  a.values = Array::from(values);
  return UnsNode::numeric(std::move(a));
}

UnsNode curves_node(const std::vector<std::vector<double>>& curves) {
  UnsNode d = UnsNode::dict();
  for (size_t k = 0; k < curves.size(); ++k) d[std::to_string(k)] = array_node({static_cast<int64_t>(curves[k].size() / 2), 2}, curves[k]);
  return d;
}

}  // namespace

std::optional<Topography> read_topography(const UnsNode& vecfld, const std::string& where) {
  if (vecfld.kind != UnsNode::Kind::dict || !vecfld.children.count("Xss")) return std::nullopt;
  Topography t;
  t.fixed_points = points_of(vecfld.children.at("Xss"), where + "/Xss");
  const size_t n = t.fixed_points.size() / 2;
  auto ft = vecfld.children.find("ftype");
  if (ft == vecfld.children.end()) throw Error(where + "/ftype: not present (Xss needs the fixed points' types: -1 stable, 0 saddle, +1 unstable)");
  if (ft->second.kind != UnsNode::Kind::numeric) throw Error(where + "/ftype: expected a numeric array");
  const std::vector<double> types = ft->second.array.values.to_double();
  if (types.size() != n) throw Error(where + "/ftype: " + std::to_string(types.size()) + " types for " + std::to_string(n) + " fixed points in Xss");
  for (double v : types) {
    if (v != -1 && v != 0 && v != 1) throw Error(where + "/ftype: type " + std::to_string(v) + " is not -1 (stable), 0 (saddle) or +1 (unstable)");
    t.types.push_back(static_cast<int>(v));
  }
  t.x_nullclines = curves_of(vecfld, "NCx", where);
  t.y_nullclines = curves_of(vecfld, "NCy", where);
  t.separatrices = curves_of(vecfld, "separatrices", where);
  t.xlim = limits_of(vecfld, "xlim", where);
  t.ylim = limits_of(vecfld, "ylim", where);
  return t;
}

void write_topography(UnsNode& vecfld, const Topography& t) {
  const int64_t n = static_cast<int64_t>(t.fixed_points.size() / 2);
  vecfld["Xss"] = array_node({n, 2}, t.fixed_points);
  DenseArray types;
  types.shape = {n};
  std::vector<int64_t> tv(t.types.begin(), t.types.end());
  types.values = Array::from(tv);
  vecfld["ftype"] = UnsNode::numeric(std::move(types));
  vecfld["NCx"] = curves_node(t.x_nullclines);
  vecfld["NCy"] = curves_node(t.y_nullclines);
  if (!t.separatrices.empty()) vecfld["separatrices"] = curves_node(t.separatrices);
  if (t.xlim) vecfld["xlim"] = array_node({2}, {(*t.xlim)[0], (*t.xlim)[1]});
  if (t.ylim) vecfld["ylim"] = array_node({2}, {(*t.ylim)[0], (*t.ylim)[1]});
}

}  // namespace velofield::plot
