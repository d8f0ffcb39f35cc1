#include "simulate/tree_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "simulate/counter_rng.hpp"

namespace velofield::sim {

namespace {
constexpr double kT = kSimulationTimeMax;
constexpr double kPi = 3.14159265358979323846;
// Φ⁻¹ at the midpoints of 8 equal-probability bins: library-size quadrature for the calibration.
constexpr double kNormalOctiles[8] = {-1.5341205443525463, -0.8871465590189700, -0.4887764111146695, -0.1573106846101707,
                                      0.1573106846101707,  0.4887764111146695,  0.8871465590189700,  1.5341205443525463};
// Time points per tree segment for the calibration; the densities it predicts are smooth in t.
constexpr int kCalibrationPoints = 48;
// Genes used for the calibration at most (evenly spaced), so huge gene counts stay cheap.
constexpr int64_t kCalibrationGenes = 4000;

double log_uniform(CounterRng& rng, double lo, double hi) { return lo * std::pow(hi / lo, rng.uniform()); }
}  // namespace

const char* program_name(GeneProgram p) {
  switch (p) {
    case GeneProgram::repression: return "repression";
    case GeneProgram::induction: return "induction";
    case GeneProgram::lineage: return "lineage";
  }
  return "induction";
}

TreeModel::TreeModel(const SimulationOptions& options) : options_(options), branch_time_(options.branch_time * kT) {
  calibrate_scale();
}

void TreeModel::draw_genes(double scale) {
  const uint64_t seed = options_.seed;
  const int L = options_.n_lineages;
  const double tb = branch_time_;
  genes_.assign(static_cast<size_t>(options_.n_genes), GeneKinetics{});
  for (int64_t j = 0; j < options_.n_genes; ++j) {
    GeneKinetics& g = genes_[static_cast<size_t>(j)];
    CounterRng rates(hash_key({seed, static_cast<uint64_t>(Purpose::gene_rates), static_cast<uint64_t>(j)}));
    // Splicing faster than degradation on average, as in real data (γ/β mostly 0.03–3).
    g.beta = log_uniform(rates, 0.3, 3.0);
    g.gamma = log_uniform(rates, 0.1, 1.0);
    g.alpha_on = scale * log_uniform(rates, 1.0, 10.0);
    CounterRng prog(hash_key({seed, static_cast<uint64_t>(Purpose::gene_program), static_cast<uint64_t>(j)}));
    if (prog.uniform() < options_.lineage_gene_fraction) {
      g.program = GeneProgram::lineage;
      g.lineage = std::min(L, 1 + static_cast<int>(prog.uniform() * L));
      g.onset = tb + prog.uniform() * 0.4 * (kT - tb);
      g.switch_time = g.onset + (0.4 + 0.8 * prog.uniform()) * (kT - tb);
    } else if (prog.uniform() < 0.5) {
      g.program = GeneProgram::repression;
      g.onset = std::numeric_limits<double>::quiet_NaN();
      g.switch_time = (0.15 + 0.95 * prog.uniform()) * kT;
    } else {
      g.program = GeneProgram::induction;
      g.onset = prog.uniform() * 0.6 * kT;
      g.switch_time = g.onset + (0.3 + 0.6 * prog.uniform()) * kT;
    }
    if (g.program == GeneProgram::repression) {
      g.initial = {g.alpha_on / g.beta, g.alpha_on / g.gamma};
      g.at_onset = g.initial;
      g.at_switch = g.initial;
    } else {
      g.initial = {0, 0};
      g.at_onset = g.initial;
      g.at_switch = advance(g.at_onset, g.alpha_on, g.beta, g.gamma, g.switch_time - g.onset);
    }
  }
}

Abundance TreeModel::abundance(int64_t gene, int lineage, double t) const {
  const GeneKinetics& g = genes_[static_cast<size_t>(gene)];
  if (!active(g, lineage)) return {0, 0};
  if (t < g.switch_time) {
    if (g.program == GeneProgram::repression || t < g.onset) return g.initial;
    return advance(g.at_onset, g.alpha_on, g.beta, g.gamma, t - g.onset);
  }
  return advance(g.at_switch, 0.0, g.beta, g.gamma, t - g.switch_time);
}

double TreeModel::alpha(int64_t gene, int lineage, double t) const {
  const GeneKinetics& g = genes_[static_cast<size_t>(gene)];
  if (!active(g, lineage) || t >= g.switch_time) return 0.0;
  if (g.program == GeneProgram::repression) return g.alpha_on;
  return t >= g.onset ? g.alpha_on : 0.0;
}

void TreeModel::calibrate_scale() {
  draw_genes(1.0);
  const int L = options_.n_lineages;
  const double tb = branch_time_;
  const double total = tb + L * (kT - tb);
  const int64_t G = options_.n_genes;
  const int64_t step = std::max<int64_t>(1, (G + kCalibrationGenes - 1) / kCalibrationGenes);
  // Abundances at scale 1 on a grid of tree positions; everything is linear in the α scale.
  struct Point {
    double weight;
    std::vector<double> s, u;
  };
  std::vector<Point> grid;
  for (int seg = 0; seg <= L; ++seg) {
    const double t0 = seg == 0 ? 0.0 : tb, t1 = seg == 0 ? tb : kT;
    for (int k = 0; k < kCalibrationPoints; ++k) {
      Point p;
      p.weight = (t1 - t0) / total / kCalibrationPoints;
      const double t = t0 + (k + 0.5) * (t1 - t0) / kCalibrationPoints;
      for (int64_t j = 0; j < G; j += step) {
        const Abundance a = abundance(j, seg, t);
        p.s.push_back(a.s);
        p.u.push_back(a.u);
      }
      grid.push_back(std::move(p));
    }
  }
  std::vector<double> libraries;
  const double sd = options_.noise_free ? 0.0 : options_.library_size_sd;
  if (sd == 0) {
    libraries = {1.0};
  } else {
    for (double z : kNormalOctiles) libraries.push_back(std::exp(sd * z - sd * sd / 2));
  }
  const bool nb = options_.noise == "nb" && !options_.noise_free;
  const double theta = options_.nb_theta;
  auto nonzero = [&](double mean) { return nb ? -std::expm1(-theta * std::log1p(mean / theta)) : -std::expm1(-mean); };
  auto density = [&](double scale, bool spliced) {
    double sum = 0;
    for (const Point& p : grid) {
      const std::vector<double>& v = spliced ? p.s : p.u;
      double acc = 0;
      for (double x : v) {
        if (x <= 0) continue;
        for (double lib : libraries) acc += nonzero(scale * lib * x);
      }
      sum += p.weight * acc / static_cast<double>(v.size() * libraries.size());
    }
    return sum;
  };
  double reachable = 0;
  for (const Point& p : grid)
    reachable += p.weight * static_cast<double>(std::count_if(p.s.begin(), p.s.end(), [](double x) { return x > 0; })) /
                 static_cast<double>(p.s.size());
  if (options_.density >= 0.999 * reachable)
    fail(options_.source, "density",
         cat(options_.density) + " cannot be reached: with these lineages and genes at most " +
             cat(reachable) + " of the (cell, gene) entries are ever expressed (lower the density or lineage-gene-fraction)");
  // Bisection on log(scale): density is increasing in the scale. 40 halvings of a 10^16 range
  // leave a relative error of ~3e-11 in the scale.
  double lo = std::log(1e-8), hi = std::log(1e8);
  for (int it = 0; it < 40; ++it) {
    const double mid = 0.5 * (lo + hi);
    (density(std::exp(mid), true) < options_.density ? lo : hi) = mid;
  }
  alpha_scale_ = std::exp(0.5 * (lo + hi));
  expected_density_s_ = density(alpha_scale_, true);
  expected_density_u_ = density(alpha_scale_, false);
  draw_genes(alpha_scale_);
}

CellDraw TreeModel::cell(int64_t i) const {
  const uint64_t seed = options_.seed, id = static_cast<uint64_t>(i);
  const int L = options_.n_lineages;
  const double tb = branch_time_, branch_len = kT - tb;
  CellDraw c;
  CounterRng pos(hash_key({seed, static_cast<uint64_t>(Purpose::cell_position), id}));
  // Uniform over the length of the tree: every segment gets cells in proportion to its duration.
  const double v = pos.uniform() * (tb + L * branch_len);
  if (v < tb) {
    c.lineage = 0;
    c.time = v;
    c.cluster = c.time < tb / 2 ? 0 : 1;
  } else {
    const int k = std::min(L - 1, static_cast<int>((v - tb) / branch_len));
    c.lineage = k + 1;
    c.time = std::min(kT, tb + (v - tb - k * branch_len));
    c.cluster = 1 + c.lineage;
  }
  if (!options_.noise_free && options_.library_size_sd > 0) {
    CounterRng lib(hash_key({seed, static_cast<uint64_t>(Purpose::cell_library), id}));
    const double sd = options_.library_size_sd;
    c.library = std::exp(sd * lib.normal() - sd * sd / 2);
  }
  // Layout: the trunk runs along +x from the origin; branch l leaves the branch point at an angle
  // spread over ±60°. Cells scatter across the path (not along it, which would blur time).
  double x0 = 0, y0 = 0, t0 = 0, dx = 1, dy = 0;
  if (c.lineage > 0) {
    const double angle = L == 1 ? 0.0 : -kPi / 3 + (2 * kPi / 3) * (c.lineage - 1) / (L - 1);
    x0 = tb;
    t0 = tb;
    dx = std::cos(angle);
    dy = std::sin(angle);
  }
  CounterRng layout(hash_key({seed, static_cast<uint64_t>(Purpose::cell_layout), id}));
  const double off = options_.layout_noise * layout.normal();
  c.x = x0 + dx * (c.time - t0) - dy * off;
  c.y = y0 + dy * (c.time - t0) + dx * off;
  c.vx = dx;
  c.vy = dy;
  return c;
}

std::vector<std::string> TreeModel::cluster_names() const {
  std::vector<std::string> out{"root", "progenitor"};
  for (int l = 1; l <= options_.n_lineages; ++l) out.push_back("fate_" + std::to_string(l));
  return out;
}

std::vector<std::string> TreeModel::lineage_names() const {
  std::vector<std::string> out{"trunk"};
  for (int l = 1; l <= options_.n_lineages; ++l) out.push_back("lineage_" + std::to_string(l));
  return out;
}

std::string TreeModel::transitions() const {
  std::string out = "root>progenitor";
  for (int l = 1; l <= options_.n_lineages; ++l) out += ",progenitor>fate_" + std::to_string(l);
  return out;
}

std::vector<int64_t> TreeModel::truth_genes() const {
  const int64_t N = options_.n_cells, G = options_.n_genes;
  std::vector<int64_t> out;
  if (N * G <= options_.truth_max_entries || N == 0) {
    for (int64_t j = 0; j < G; ++j) out.push_back(j);
    return out;
  }
  const int64_t n_sub = std::min(G, std::max<int64_t>(1, options_.truth_max_entries / N));
  for (int64_t k = 0; k < n_sub; ++k) out.push_back(k * G / n_sub);
  return out;
}

}  // namespace velofield::sim
