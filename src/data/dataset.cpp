#include "data/dataset.hpp"

#include "core/error.hpp"

namespace velofield {

Dataset Dataset::create(MPI_Comm comm, int64_t n_obs, int64_t n_vars) {
  Dataset d;
  d.comm = comm;
  d.n_obs = n_obs;
  d.n_vars = n_vars;
  const BlockPartition p = d.partition();
  d.obs_begin = p.begin(d.rank());
  d.n_obs_local = p.size(d.rank());
  d.obs.index.resize(static_cast<size_t>(d.n_obs_local));
  for (int64_t i = 0; i < d.n_obs_local; ++i) d.obs.index[static_cast<size_t>(i)] = "cell_" + std::to_string(d.obs_begin + i);
  d.var.index.resize(static_cast<size_t>(n_vars));
  for (int64_t j = 0; j < n_vars; ++j) d.var.index[static_cast<size_t>(j)] = "gene_" + std::to_string(j);
  return d;
}

BlockPartition Dataset::partition() const { return BlockPartition{n_obs, ranks()}; }

int Dataset::rank() const {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

int Dataset::ranks() const {
  int s = 1;
  MPI_Comm_size(comm, &s);
  return s;
}

namespace {
template <class Map>
std::string keys_of(const Map& m) {
  std::string out;
  for (const auto& kv : m) out += (out.empty() ? "" : ", ") + kv.first;
  return out.empty() ? "none" : out;
}
}  // namespace

const Matrix& Dataset::layer(const std::string& name) const {
  if (name == "X") {
    if (!X) fail(source, "X", "not present");
    return *X;
  }
  auto it = layers.find(name);
  if (it == layers.end())
    fail(source, "layers/" + name, "layer not present (this file has layers: " + keys_of(layers) + ")");
  return it->second;
}

Matrix& Dataset::layer(const std::string& name) {
  return const_cast<Matrix&>(static_cast<const Dataset&>(*this).layer(name));
}

const CsrMatrix& Dataset::layer_csr(const std::string& name) const {
  const Matrix& m = layer(name);
  if (!std::holds_alternative<CsrMatrix>(m)) fail(source, "layers/" + name, "expected a sparse (CSR) layer, found a dense one");
  return std::get<CsrMatrix>(m);
}

const DenseArray& Dataset::obsm_dense(const std::string& name) const {
  auto it = obsm.find(name);
  if (it == obsm.end()) fail(source, "obsm/" + name, "not present (this file has obsm: " + keys_of(obsm) + ")");
  if (!std::holds_alternative<DenseArray>(it->second)) fail(source, "obsm/" + name, "expected a dense array");
  return std::get<DenseArray>(it->second);
}

namespace {
template <class Map>
std::string diff_maps(const std::string& slot, const Map& a, const Map& b) {
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) return slot + "/" + k + " missing in the second dataset";
    if (!(v == it->second)) return slot + "/" + k + " differs";
  }
  for (const auto& kv : b)
    if (!a.count(kv.first)) return slot + "/" + kv.first + " missing in the first dataset";
  return "";
}

std::string local_difference(const Dataset& a, const Dataset& b) {
  if (a.n_obs != b.n_obs || a.n_vars != b.n_vars) return "shapes differ";
  if (!(a.obs == b.obs)) {
    if (a.obs.index != b.obs.index) return "obs names differ";
    return "obs differs";
  }
  if (!(a.var == b.var)) return "var differs";
  if (a.X.has_value() != b.X.has_value()) return "X present in only one";
  if (a.X && !(*a.X == *b.X)) return "X differs";
  if (auto d = diff_maps("layers", a.layers, b.layers); !d.empty()) return d;
  if (auto d = diff_maps("obsm", a.obsm, b.obsm); !d.empty()) return d;
  if (auto d = diff_maps("varm", a.varm, b.varm); !d.empty()) return d;
  if (auto d = diff_maps("varp", a.varp, b.varp); !d.empty()) return d;
  if (a.uns != b.uns) return "uns differs";
  if (a.raw.has_value() != b.raw.has_value()) return "raw present in only one";
  if (a.raw) {
    if (!(a.raw->X == b.raw->X)) return "raw/X differs";
    if (!(a.raw->var == b.raw->var)) return "raw/var differs";
    if (auto d = diff_maps("raw/varm", a.raw->varm, b.raw->varm); !d.empty()) return d;
  }
  for (const auto& kv : a.obsp)
    if (!b.obsp.count(kv.first)) return "obsp/" + kv.first + " missing in the second dataset";
  for (const auto& kv : b.obsp)
    if (!a.obsp.count(kv.first)) return "obsp/" + kv.first + " missing in the first dataset";
  return "";
}
}  // namespace

std::string first_difference(const Dataset& a, const Dataset& b) {
  std::string local = local_difference(a, b);
  // Agree on the structural result first so every rank takes part in the obsp comparisons.
  int bad = local.empty() ? 0 : 1;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, a.comm);
  if (bad) {
    int rank = a.rank();
    int first = local.empty() ? INT32_MAX : rank;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, a.comm);
    int len = rank == first ? static_cast<int>(local.size()) : 0;
    MPI_Bcast(&len, 1, MPI_INT, first, a.comm);
    std::string msg(static_cast<size_t>(len), ' ');
    if (rank == first) msg = local;
    MPI_Bcast(msg.data(), len, MPI_CHAR, first, a.comm);
    return msg;
  }
  for (const auto& [k, m] : a.obsp)
    if (!m.equals(b.obsp.at(k), a.comm)) return "obsp/" + k + " differs";
  return "";
}

}  // namespace velofield
