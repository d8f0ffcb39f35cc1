#pragma once
// Evenly spaced streamlines through a 2-D vector field sampled on a regular grid (Jobard & Lefer,
// "Creating evenly-spaced streamlines of arbitrary density", 1997): every new line starts at least
// `separation` away from all lines drawn so far (seeds are taken beside the existing lines, at that
// distance along their normals, then from a lattice over the domain for regions no line reached), and
// stops when it comes closer than test_ratio × separation to another line or to itself, leaves the
// grid, enters a closed grid cell, or slows below min_speed. Distances are measured on the figure
// (display units), so the lines are evenly spaced whatever the data's aspect ratio. Integration
// follows the normalised field (arc length), with bilinear interpolation between the nodes.
#include <cstdint>
#include <vector>

namespace velofield::plot {

struct GridField {
  int64_t nx = 0, ny = 0;
  // Node (i, j) sits at (x0 + i·(x1 - x0)/(nx - 1), y0 + j·(y1 - y0)/(ny - 1)).
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  // ny × nx, row j holds the nodes with y index j. A NaN in either component closes the node:
  // no line crosses a grid cell with a closed corner (dynamo marks weak-field nodes that way).
  std::vector<double> u, v;
};

enum class Integrator { rk2, rk4 };

struct StreamlineOptions {
  double separation = 10;          // d_sep, display units (pt)
  double test_ratio = 0.5;         // d_test / d_sep
  double step_ratio = 0.2;         // integration step / d_sep
  double min_length_ratio = 2;     // shorter lines (in units of d_sep) are dropped
  double min_speed = 0.02;         // stop below this fraction of the grid's largest speed
  Integrator integrator = Integrator::rk4;
  int64_t max_lines = 20000;
};

struct Streamline {
  std::vector<double> x, y;    // data coordinates, in the direction of the flow
  std::vector<double> speed;   // |(u, v)| at each point, data units
};

// sx, sy: display units per data unit along x and y. Deterministic (no random numbers).
std::vector<Streamline> evenly_spaced_streamlines(const GridField& field, double sx, double sy,
                                                  const StreamlineOptions& options);

// The largest |(u, v)| over the open nodes (0 when none is open).
double max_grid_speed(const GridField& field);

}  // namespace velofield::plot
