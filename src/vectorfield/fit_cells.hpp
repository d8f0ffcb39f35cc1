#pragma once
// The vectorfield stage's cells moved to the fit layout (fit_layout.hpp) and its per-cell results
// moved back to the dataset's layout: the fit, the restarts' control-point draws and the vector
// calculus all run on whole chunks, so they give the same bits at any rank count.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "vectorfield/fit_layout.hpp"
#include "vectorfield/sparse_vfc.hpp"
#include "vectorfield/vector_calculus.hpp"

namespace velofield {

struct FitCells {
  FitLayout layout;
  std::vector<int64_t> home;      // the dataset's rank offsets (ranks + 1)
  int64_t begin = 0, rows = 0, dim = 0;   // this rank's cells in the fit layout
  std::vector<double> x, y;       // rows × dim: embedding and velocities
  std::vector<uint8_t> valid;     // rows: the velocity row is finite (the cell is fitted)

  SparseVfcData data() const { return {rows, dim, x.data(), y.data(), valid.data()}; }
};

// Collective. X, Y: this rank's rows of the dataset (obs_begin, X.size() / dim rows); M decides
// the chunk length.
FitCells fit_cells(MPI_Comm comm, int64_t obs_begin, int64_t n_obs, int64_t dim, const std::vector<double>& X,
                   const std::vector<double>& Y, int64_t M);

// The per-cell results in the dataset's layout.
struct HomeResults {
  std::vector<double> V, P;
  CellCalculus calculus;   // empty vectors when no calculus was given
};

// Collective. V, P (and calc when not null) are on the cells' fit layout; they are emptied as they
// move, so that only one per-cell array is held twice at a time.
HomeResults results_at_home(MPI_Comm comm, const FitCells& cells, std::vector<double>&& V, std::vector<double>&& P,
                            CellCalculus* calc);

}  // namespace velofield
