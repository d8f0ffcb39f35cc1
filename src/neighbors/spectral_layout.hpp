#pragma once
// UMAP's spectral initialisation: the eigenvectors of the normalised graph Laplacian
// L = I - D^-1/2 A D^-1/2 for its smallest eigenvalues after the trivial one, found as the
// largest eigenpairs of D^-1/2 A D^-1/2 with SLEPc on the distributed graph.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dist_matrix.hpp"

namespace velofield {

struct SpectralLayout {
  bool ok = false;
  std::string why_not;            // when !ok: a disconnected graph, or no convergence
  std::vector<double> coords;     // n_local × dim
};

// Collective. `graph`: symmetric, nonnegative, every row nonempty. Eigenvector signs are fixed
// (a positive projection on a fixed pseudo-random vector keyed by cell index), so the layout does
// not flip with the rank count. Solver options can be set at run time with the prefix
// -umap_spectral_ (e.g. -umap_spectral_eps_type lanczos).
SpectralLayout spectral_layout(MPI_Comm comm, const DistMatrix& graph, int dim, uint64_t seed);

}  // namespace velofield
