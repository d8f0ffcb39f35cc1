#pragma once
// The topography of a fitted field (dyn.vf.topography, spec section 6), distributed:
//  - domain: the cells' bounding box padded by 10% per side (dynamo's xlim/ylim);
//  - fixed points: Levenberg–Marquardt/Newton with the analytic Jacobian from many starts (a Latin
//    hypercube, a subsample of the cells themselves, and in 2-D every grid cell where the two
//    nullclines cross), the starts split over the ranks and the roots gathered in start order;
//    kept when |f| is below root_tol × the field's scale and inside the domain; deduplicated in
//    start order; classified by the Jacobian's eigenvalues; dynamo's confidence (a Gaussian of the
//    mean distance to the 50 nearest cells, relative to the cells' median);
//  - 2-D only: nullclines (marching squares, refined) and separatrices (stable manifolds of the
//    saddles, integrated backward).
// The result does not depend on the number of ranks: every start's root is computed the same way
// wherever it runs, and everything after the gather is replicated.
#include <mpi.h>

#include <complex>
#include <cstdint>
#include <vector>

#include "topography/field_function.hpp"
#include "topography/fixed_point_types.hpp"
#include "topography/nullclines.hpp"

namespace velofield {

struct TopographyOptions {
  int64_t lhs_starts = 100;         // Latin-hypercube starts (dynamo: 25)
  int64_t cell_starts = 1000;       // cells used as starts (every k-th by global index)
  uint64_t seed = 19491001;         // dynamo's Latin-hypercube seed
  int64_t nullcline_grid = 200;     // 2-D: grid points per axis for the nullclines
  double padding = 0.1;             // domain margin per side, as a fraction of the cells' range
  double root_tol = 1e-8;           // accept a root when |f| <= root_tol × max |f| over the starts
  double duplicate_tol = 1e-5;      // two roots closer than this × the domain diagonal are one
  int64_t confidence_neighbors = 50;
  bool separatrices = true;
  int max_iterations = 200;
};

struct FixedPoint {
  std::vector<double> x;
  double residual = 0;                          // |f(x)|
  std::vector<std::complex<double>> eigenvalues;
  std::vector<double> jacobian;                 // dim × dim, row-major
  int type = 0;                                 // dynamo's ftype: −1 stable, 0 saddle, +1 unstable
  FixedPointKind kind = FixedPointKind::saddle;
  double confidence = 0;
};

struct TopographyResult {
  std::vector<double> lo, hi;                   // the domain
  std::vector<FixedPoint> points;
  Nullclines nullclines;                        // 2-D only
  std::vector<std::vector<double>> separatrices;   // 2-D only, one per saddle with a real stable direction
  int64_t starts = 0, converged = 0;            // starts tried; roots found (with duplicates)
  double field_scale = 0;                       // max |f| over the starts
};

// Collective. cells: this rank's rows (local_rows × dim, finite), global_begin: the global index of
// its first row, total: the number of cells over all ranks.
TopographyResult map_topography(MPI_Comm comm, const FieldFunction& field, int64_t local_rows, const double* cells,
                                int64_t global_begin, int64_t total, const TopographyOptions& options);

}  // namespace velofield
