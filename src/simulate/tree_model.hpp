#pragma once
// The generative model behind `velofield simulate`, as pure functions of the options: the tree,
// each gene's kinetics and switching, each cell's position, library size and layout. Replicated
// on every rank (genes) or evaluated per cell on demand, so nothing depends on the rank count.
#include <cstdint>
#include <string>
#include <vector>

#include "simulate/kinetics.hpp"
#include "simulate/simulator.hpp"

namespace velofield::sim {

// How a gene's transcription rate α(t) behaves along a path from the root.
enum class GeneProgram : int8_t {
  repression = 0,   // induced from the start (steady state at t = 0), switched off at switch_time
  induction = 1,    // off, on at onset, off at switch_time; the same on every lineage
  lineage = 2,      // like induction, but only on one lineage (onset after the branch point)
};
const char* program_name(GeneProgram p);

struct GeneKinetics {
  double alpha_on = 0, beta = 1, gamma = 1;
  double onset = 0;          // α switches on (NaN for repression genes: on since before t = 0)
  double switch_time = 0;    // α switches off (may lie beyond the time axis: never repressed)
  GeneProgram program = GeneProgram::induction;
  int lineage = 0;           // lineage genes: 1..L; others 0 (every lineage)
  Abundance initial, at_onset, at_switch;   // states at t = 0, onset and switch_time
};

struct CellDraw {
  double time = 0;
  int lineage = 0;          // 0 = trunk (before the branch point), 1..L = branch
  int cluster = 0;          // index into TreeModel::cluster_names()
  double library = 1;       // library-size factor: E[count] = library · abundance
  double x = 0, y = 0;      // X_true_2d
  double vx = 0, vy = 0;    // d(x, y)/dt of the tree path (the true velocity in X_true_2d)
};

class TreeModel {
 public:
  explicit TreeModel(const SimulationOptions& options);

  const SimulationOptions& options() const { return options_; }
  const std::vector<GeneKinetics>& genes() const { return genes_; }
  double branch_time() const { return branch_time_; }
  // Global factor applied to every gene's α to meet the density target.
  double alpha_scale() const { return alpha_scale_; }
  double expected_spliced_density() const { return expected_density_s_; }
  double expected_unspliced_density() const { return expected_density_u_; }

  CellDraw cell(int64_t global_index) const;
  // Noise-free abundances of gene g for a cell on `lineage` at time t (library size 1).
  Abundance abundance(int64_t gene, int lineage, double t) const;
  // The transcription rate α_g(t) on `lineage`.
  double alpha(int64_t gene, int lineage, double t) const;

  std::vector<std::string> cluster_names() const;   // root, progenitor, fate_1 .. fate_L
  std::vector<std::string> lineage_names() const;   // trunk, lineage_1 .. lineage_L
  std::string transitions() const;                  // "root>progenitor,progenitor>fate_1,..."
  // Genes that true_velocity_S covers (all, or the evenly spaced subset for huge N).
  std::vector<int64_t> truth_genes() const;

 private:
  void draw_genes(double scale);
  void calibrate_scale();
  bool active(const GeneKinetics& g, int lineage) const { return g.program != GeneProgram::lineage || g.lineage == lineage; }

  SimulationOptions options_;
  double branch_time_ = 0;
  double alpha_scale_ = 1;
  double expected_density_s_ = 0, expected_density_u_ = 0;
  std::vector<GeneKinetics> genes_;
};

}  // namespace velofield::sim
