#include "evaluate/neighbor_lists.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "evaluate/kd_tree.hpp"

namespace velofield {

NeighborLists neighbors_from_graph(const Dataset& dataset, const std::string& key) {
  NeighborLists out;
  out.source = "obsp/" + key;
  std::vector<int64_t> indptr, cols;
  std::vector<double> values;
  dataset.obsp.at(key).local_csr(indptr, cols, values);
  for (int64_t i = 0; i < dataset.n_obs_local; ++i) {
    const int64_t self = dataset.obs_begin + i;
    for (int64_t k = indptr[static_cast<size_t>(i)]; k < indptr[static_cast<size_t>(i + 1)]; ++k) {
      const int64_t j = cols[static_cast<size_t>(k)];
      if (j != self && values[static_cast<size_t>(k)] != 0) out.ids.push_back(j);
    }
    out.offsets.push_back(static_cast<int64_t>(out.ids.size()));
  }
  return out;
}

NeighborLists neighbors_from_embedding(const Dataset& dataset, const std::vector<double>& points, int dim, int k,
                                       const std::string& basis_key) {
  NeighborLists out;
  out.source = "exact " + std::to_string(k) + "-NN in obsm/" + basis_key;
  const KdTree tree(points.data(), dataset.n_obs, dim);
  out.ids.reserve(static_cast<size_t>(dataset.n_obs_local * k));
  for (int64_t i = 0; i < dataset.n_obs_local; ++i) {
    const int64_t self = dataset.obs_begin + i;
    for (int64_t j : tree.nearest(points.data() + self * dim, k, self)) out.ids.push_back(j);
    out.offsets.push_back(static_cast<int64_t>(out.ids.size()));
    if (dataset.n_obs_local >= 100000) log().progress("evaluate: nearest neighbours of cells on rank 0", i + 1, dataset.n_obs_local);
  }
  return out;
}

namespace {
int checked(int64_t v) {
  if (v > INT32_MAX) throw Error("internal: gathering more than 2^31 values in one call");
  return static_cast<int>(v);
}
}  // namespace

std::vector<double> gather_dense_rows(const Dataset& dataset, const DenseArray& local) {
  const int64_t dim = local.row_stride();
  const int size = dataset.ranks();
  const BlockPartition p = dataset.partition();
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    counts[static_cast<size_t>(r)] = checked(p.size(r) * dim);
    displs[static_cast<size_t>(r)] = checked(p.begin(r) * dim);
  }
  std::vector<double> mine(static_cast<size_t>(local.rows() * dim));
  for (size_t i = 0; i < mine.size(); ++i) mine[i] = local.values.as_double(i);
  std::vector<double> all(static_cast<size_t>(dataset.n_obs * dim));
  MPI_Allgatherv(mine.data(), checked(static_cast<int64_t>(mine.size())), MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                 MPI_DOUBLE, dataset.comm);
  return all;
}

std::vector<int32_t> gather_codes(const Dataset& dataset, const Column& column) {
  const int size = dataset.ranks();
  const BlockPartition p = dataset.partition();
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    counts[static_cast<size_t>(r)] = checked(p.size(r));
    displs[static_cast<size_t>(r)] = checked(p.begin(r));
  }
  std::vector<int32_t> mine(static_cast<size_t>(dataset.n_obs_local));
  for (size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<int32_t>(column.values.as_int64(i));
  std::vector<int32_t> all(static_cast<size_t>(dataset.n_obs));
  MPI_Allgatherv(mine.data(), checked(dataset.n_obs_local), MPI_INT32_T, all.data(), counts.data(), displs.data(), MPI_INT32_T,
                 dataset.comm);
  return all;
}

}  // namespace velofield
