// The `dynamics` stage at scale, without the I/O of a multi-gigabyte moments file: builds the moment
// layers M_s, M_u, M_ss, M_us of CELLS × GENES in memory on each rank from the simulator's kinetic
// model (the noise-free abundances of each cell's time and branch, with a few percent of
// deterministic noise keyed by cell and gene, and second moments of the right shape), then times the
// stage as the pipeline runs it. Used by jobs/bench_dynamics.sh.
//   mpirun -n R bench_dynamics_scale --cells N --genes G [--method stochastic|deterministic]
//     [--dtype float32|float64] [--layout dense|csr] [--repeat K] [--del_2nd_moments] [--timings FILE.json] [-q]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/runtime.hpp"
#include "core/timers.hpp"
#include "simulate/tree_model.hpp"
#include "velocity/dynamics_stage.hpp"

using namespace velofield;

namespace {

double unit_noise(uint64_t a, uint64_t b) {   // in [-1, 1), a pure function of (a, b)
  uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return static_cast<double>(h >> 11) * 0x1.0p-52 - 1.0;
}

template <class T>
void fill_layers(Dataset& d, const sim::TreeModel& model, bool csr) {
  const int64_t n = d.n_obs_local, G = d.n_vars;
  const int lineages = model.options().n_lineages + 1;
  constexpr int kSteps = 512;
  // Abundances per gene and branch on a time grid, interpolated per cell.
  std::vector<double> table(static_cast<size_t>(G * lineages * kSteps * 2));
  for (int64_t g = 0; g < G; ++g)
    for (int l = 0; l < lineages; ++l)
      for (int k = 0; k < kSteps; ++k) {
        const sim::Abundance a = model.abundance(g, l, kSimulationTimeMax * k / (kSteps - 1));
        const size_t at = static_cast<size_t>(((g * lineages + l) * kSteps + k) * 2);
        table[at] = a.u;
        table[at + 1] = a.s;
      }
  std::vector<T*> out(4);
  std::vector<CsrMatrix*> sparse(4);
  const char* names[4] = {"M_s", "M_u", "M_ss", "M_us"};
  for (int m = 0; m < 4; ++m) {
    if (csr) {
      // The moments stage's layout for selected genes: every row stores every gene, zeros included.
      CsrMatrix c = CsrMatrix::with_shape(n, G, dtype_of<T>());
      for (int64_t i = 0; i <= n; ++i) c.indptr[static_cast<size_t>(i)] = i * G;
      c.indices = Array(index_dtype_for(G), static_cast<size_t>(n * G));
      for (int64_t k = 0; k < n * G; ++k) c.indices.data<int32_t>()[k] = static_cast<int32_t>(k % G);
      c.data = Array(dtype_of<T>(), static_cast<size_t>(n * G));
      d.layers[names[m]] = std::move(c);
      out[static_cast<size_t>(m)] = std::get<CsrMatrix>(d.layers[names[m]]).data.data<T>();
    } else {
      d.layers[names[m]] = DenseArray::zeros({n, G}, dtype_of<T>());
      out[static_cast<size_t>(m)] = std::get<DenseArray>(d.layers[names[m]]).values.data<T>();
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const sim::CellDraw c = model.cell(d.obs_begin + i);
    const double pos = c.time / kSimulationTimeMax * (kSteps - 1);
    const int k = std::min(kSteps - 2, static_cast<int>(pos));
    const double f = pos - k;
    for (int64_t g = 0; g < G; ++g) {
      const double* t = &table[static_cast<size_t>(((g * lineages + c.lineage) * kSteps + k) * 2)];
      const double u = (1 - f) * t[0] + f * t[2], s = (1 - f) * t[1] + f * t[3];
      const uint64_t id = static_cast<uint64_t>(d.obs_begin + i), gene = static_cast<uint64_t>(g);
      const double ms = s * (1 + 0.15 * unit_noise(id, 4 * gene)), mu = u * (1 + 0.15 * unit_noise(id, 4 * gene + 1));
      const size_t at = static_cast<size_t>(i * G + g);
      out[0][at] = static_cast<T>(ms);
      out[1][at] = static_cast<T>(mu);
      out[2][at] = static_cast<T>(ms * ms + ms / (30 * c.library));
      out[3][at] = static_cast<T>(mu * ms * (1 + 0.05 * unit_noise(id, 4 * gene + 2)));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Runtime runtime(argc, argv);
  int64_t cells = 1000000, genes = 1000, repeat = 1;
  std::string method = "stochastic", dtype = "float32", layout = "dense", timings;
  bool del_second = false, quiet = false;
  for (int a = 1; a < argc; ++a) {
    const std::string k = argv[a];
    auto next = [&] { return a + 1 < argc ? std::string(argv[++a]) : std::string(); };
    if (k == "--cells") cells = static_cast<int64_t>(std::stod(next()));
    else if (k == "--genes") genes = std::stoll(next());
    else if (k == "--method") method = next();
    else if (k == "--dtype") dtype = next();
    else if (k == "--layout") layout = next();
    else if (k == "--repeat") repeat = std::stoll(next());
    else if (k == "--timings") timings = next();
    else if (k == "--del_2nd_moments") del_second = true;
    else if (k == "-q" || k == "--quiet") quiet = true;
  }
  RuntimeOptions ro;
  ro.timings_path = timings;
  ro.quiet = quiet;
  runtime.configure(ro);
  SimulationOptions so;
  so.n_cells = cells;
  so.n_genes = genes;
  so.seed = 1;
  so.density = 0.3;
  const sim::TreeModel model(so);
  Dataset d = Dataset::create(runtime.comm(), cells, genes);
  d.source = "in-memory moments";
  {
    StageTimer t(runtime.comm(), "make moments");
    if (dtype == "float64") fill_layers<double>(d, model, layout == "csr");
    else fill_layers<float>(d, model, layout == "csr");
    t.stop(cells, genes);
  }
  const Stage stage = dynamics_stage();
  Config config;
  config.set("dynamics", "method", method);
  if (del_second) config.set("dynamics", "del_2nd_moments", "true");
  for (int64_t r = 0; r < repeat; ++r) {
    StageTimer t(runtime.comm(), "dynamics");
    stage.run(d, StageConfig(config, "dynamics", stage.keys));
    t.stop(cells, genes);
  }
  runtime.write_timings();
  return 0;
}
