#pragma once
// The transpose between the cell partition (each rank: its rows, all genes) and a gene partition
// (each rank: whole columns of its genes), one MPI_Alltoallv each way. Gene j of a block goes to
// rank j mod P: the interleaving spreads cheap and expensive genes evenly whatever their order.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "core/partition.hpp"

namespace velofield::models {

// The block positions this rank owns in the gene partition (j with j mod P == rank), ascending.
std::vector<int64_t> owned_genes(int64_t n_genes, int rank, int ranks);

// `local`: this rank's rows of n_genes genes, gene-major (local[j · n_local + i]). Returns this
// rank's genes (owned_genes order) as whole columns: out[k · N + global cell]. Collective.
std::vector<float> cells_to_genes(MPI_Comm comm, const BlockPartition& cells, const std::vector<float>& local,
                                  int64_t n_genes);
// The inverse: whole columns of this rank's genes back to every rank's rows, gene-major. Collective.
std::vector<float> genes_to_cells(MPI_Comm comm, const BlockPartition& cells, const std::vector<float>& mine,
                                  int64_t n_genes);

}  // namespace velofield::models
