#pragma once
// UMAP's layout optimisation on a distributed fuzzy graph (umap-learn's simplicial_set_embedding
// with dynamo's reduceDimension defaults): edges weaker than max / n_epochs are dropped, each
// edge is sampled every max / weight epochs, the learning rate falls linearly to 0, and the cells
// start from the spectral (or PCA) layout scaled to [0, 10]. Each epoch every rank moves its own
// cells (kokkos_kernels/umap_epoch) against a snapshot of all cells' positions, which the ranks
// then exchange (all-gather of N × n_components floats) every sync_every epochs; between
// exchanges every cell reads the same (older) snapshot whichever rank it is on, so the layout
// does not depend on the rank count beyond floating point in the spectral initialisation.
#include <mpi.h>

#include <string>
#include <vector>

#include "core/partition.hpp"
#include "data/dist_matrix.hpp"
#include "neighbors/umap_ab_params.hpp"

namespace velofield {

struct UmapOptions {
  int n_components = 2;
  double min_dist = 0.5;           // dynamo's reduceDimension default (umap-learn's is 0.1)
  double spread = 1.0;
  int n_epochs = 0;                // 0: 500 up to 10,000 cells, 200 above
  double learning_rate = 1.0;
  double negative_sample_rate = 5;
  double repulsion_strength = 1.0;
  std::string init = "spectral";   // spectral or pca (spectral falls back to pca when it cannot be had)
  uint64_t seed = 0;
  int sync_every = 1;              // epochs between exchanges of the snapshot (all cells read it)
};

struct UmapResult {
  std::vector<float> embedding;    // n_local × n_components
  UmapCurve curve;
  int n_epochs = 0;
  std::string init;                // the initialisation used
};

// Collective. `graph`: the symmetric fuzzy connectivities; `basis_local`: the rank's rows of the
// embedding the graph was built in (n_local × basis_dim), for the PCA initialisation.
UmapResult umap_layout(MPI_Comm comm, const BlockPartition& partition, const DistMatrix& graph,
                       const std::vector<double>& basis_local, int basis_dim, const UmapOptions& options);

}  // namespace velofield
