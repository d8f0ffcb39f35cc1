#pragma once
// Dataset: a distributed AnnData. Cells (obs) are split into contiguous row blocks, one per rank;
// var, varm, varp and uns are replicated; X, layers and obsm hold the rank's rows; obsp are PETSc
// AIJ matrices with the same row layout. Stages read and write named slots (dynamo's names).
#include <mpi.h>

#include <map>
#include <optional>
#include <string>

#include "core/partition.hpp"
#include "data/dataframe.hpp"
#include "data/dist_matrix.hpp"
#include "data/matrix.hpp"
#include "data/uns.hpp"

namespace velofield {

struct RawSlot {
  Matrix X;                              // the rank's rows
  DataFrame var;
  std::map<std::string, Matrix> varm;
};

struct Dataset {
  MPI_Comm comm = MPI_COMM_WORLD;
  int64_t n_obs = 0;          // global number of cells
  int64_t n_vars = 0;         // number of genes
  int64_t obs_begin = 0;      // first global cell index on this rank
  int64_t n_obs_local = 0;    // cells on this rank
  std::string source;         // the file it was read from, for messages

  DataFrame obs;              // the rank's rows
  DataFrame var;              // all genes
  std::optional<Matrix> X;
  std::map<std::string, Matrix> layers;   // the rank's rows
  std::map<std::string, Matrix> obsm;     // the rank's rows
  std::map<std::string, Matrix> varm;     // replicated
  std::map<std::string, Matrix> varp;     // replicated
  std::map<std::string, DistMatrix> obsp;
  UnsNode uns;
  std::optional<RawSlot> raw;

  // An empty dataset of n_obs × n_vars with the block partition over comm; obs/var names are
  // "cell_<i>" / "gene_<j>" until set.
  static Dataset create(MPI_Comm comm, int64_t n_obs, int64_t n_vars);
  BlockPartition partition() const;
  int rank() const;
  int ranks() const;

  // Slot access with errors a user can act on ("layers/spliced: not present; this file has: ...").
  const Matrix& layer(const std::string& name) const;
  Matrix& layer(const std::string& name);
  const CsrMatrix& layer_csr(const std::string& name) const;
  const DenseArray& obsm_dense(const std::string& name) const;
};

// Collective: "" when a and b hold the same data (same partition assumed), otherwise a line naming
// the first slot that differs. Used by the round-trip and rank-count tests.
std::string first_difference(const Dataset& a, const Dataset& b);

}  // namespace velofield
