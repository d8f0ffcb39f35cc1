#pragma once
// Cell-cycle scoring as dynamo's `cell_cycle_scores` (markers of five phases, refined by their
// correlation with the phase average, summed, z-scored over cells, normalised per cell), in O(cells
// × markers): dynamo correlates each cell's 5 normalised scores with the 5 one-hot phase vectors
// through an (N+5)² correlation matrix; that correlation is z_ik / sqrt(3.2) (z_i has mean 0 and
// sample std 1 over the 5 phases), computed here per cell.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/matrix.hpp"

namespace velofield::preprocess {

struct CellCyclePhase {
  std::string name;
  std::vector<std::string> markers;   // human symbols
};

// G1-S, S, G2-M, M, M-G1, with dynamo's marker lists.
const std::vector<CellCyclePhase>& cell_cycle_phases();

// The markers in the case of the data, as dynamo adapts them from the first gene name: all upper
// case → as is; Capitalised → capitalised (mouse); otherwise lower case.
std::vector<std::string> adapt_marker_case(const std::vector<std::string>& markers, const std::string& first_gene);

struct CellCycleResult {
  bool scored = false;
  std::string skipped_because;                 // when !scored: what was missing
  std::vector<std::vector<std::string>> genes; // refined markers per phase, var order
  DenseArray scores;                           // the rank's rows × 5 (float64)
  std::vector<int8_t> phase;                   // argmax over the 5 scores
  std::vector<double> progress;                // score(previous phase) − score(next phase)
  std::vector<double> order;                   // rank within the phase by progress (descending) / (size − 1)
};

// Collective. `X`: log-normalised expression, the rank's rows; `first_row`: global index of its
// first row; `n_obs`: all cells.
CellCycleResult score_cell_cycle(MPI_Comm comm, int64_t n_obs, int64_t first_row, const CsrMatrix& X,
                                 const std::vector<std::string>& var_names, double threshold);

}  // namespace velofield::preprocess
