#pragma once
// Synthetic spliced/unspliced count data with a known velocity: cells along a branching tree
// (a trunk splitting into L lineages), genes switching transcription on and off along it, counts
// drawn around the closed-form kinetics. The test oracle and the scale input of velofield.
#include <mpi.h>

#include <cstdint>
#include <string>

#include "data/dataset.hpp"

namespace velofield {

struct SimulationOptions {
  int64_t n_cells = 3000;
  int64_t n_genes = 200;
  int n_lineages = 2;
  uint64_t seed = 0;
  // Target fraction of nonzero spliced counts; sets the transcription scale (approximate: it is
  // met in expectation over the tree, typically within a percent).
  double density = 0.1;
  std::string noise = "poisson";   // "poisson" or "nb"
  double nb_theta = 5.0;           // negative binomial: variance = mean + mean²/theta
  bool noise_free = false;         // store expected abundances (library size 1) instead of counts
  double library_size_sd = 0.3;    // sd of the log library-size factor (mean factor 1)
  double branch_time = 0.4;        // fraction of the time axis spent on the trunk
  double lineage_gene_fraction = 0.5;   // genes induced on one lineage only
  double layout_noise = 0.25;      // sd of X_true_2d around the tree (time units)
  // true_velocity_S is dense over all genes when cells × genes ≤ this; otherwise it holds an
  // evenly spaced gene subset of floor(this / cells) genes (see simulate.md).
  int64_t truth_max_entries = 100'000'000;
  // Where the options came from, the FILE part of error messages ("velofield simulate",
  // "run.ini [simulate]").
  std::string source = "velofield simulate";
};

// The time axis: [0, kSimulationTimeMax]; the trunk is [0, branch_time · kSimulationTimeMax].
constexpr double kSimulationTimeMax = 10.0;

// Checks ranges; throws velofield::Error "SOURCE: KEY: PROBLEM".
void validate(const SimulationOptions& options);

// Collective. Every rank generates its own block of cells from (seed, global cell index), so the
// Dataset (and the file written from it) is identical at any rank count.
Dataset simulate(MPI_Comm comm, const SimulationOptions& options);

}  // namespace velofield
