// `dynamics` with bad input: the error names the file, the slot or option and the problem, and every
// rank throws it (the test runs at 1, 2 and 3 ranks; a rank left behind would hang the collectives).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "core/config.hpp"
#include "test_support.hpp"
#include "velocity/dynamics_stage.hpp"

using namespace velofield;

namespace {

constexpr int64_t kCells = 50, kGenes = 6;

// Moments of a toy steady state (u = 0.3 s on the upper cells), dense float64.
Dataset toy(bool second_moments = true) {
  Dataset d = Dataset::create(MPI_COMM_WORLD, kCells, kGenes);
  d.source = "toy.h5ad";
  const int64_t n = d.n_obs_local;
  for (const char* name : {"M_s", "M_u", "M_ss", "M_us"}) {
    if (!second_moments && (std::string(name) == "M_ss" || std::string(name) == "M_us")) continue;
    DenseArray a = DenseArray::zeros({n, kGenes});
    for (int64_t i = 0; i < n; ++i)
      for (int64_t g = 0; g < kGenes; ++g) {
        const double s = 0.1 * static_cast<double>((d.obs_begin + i) % 17 + g), u = 0.3 * s + 0.01 * static_cast<double>((d.obs_begin + i) % 3);
        const std::string nm = name;
        a.values.data<double>()[i * kGenes + g] = nm == "M_s" ? s : nm == "M_u" ? u : nm == "M_ss" ? s * s + s : u * s;
      }
    d.layers[name] = std::move(a);
  }
  return d;
}

std::string run(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = dynamics_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("dynamics", k, v);
  return test::error_of([&] { stage.run(d, StageConfig(config, "dynamics", stage.keys)); });
}

void poison(Dataset& d, const char* layer, int64_t global_cell, int64_t gene) {
  if (global_cell < d.obs_begin || global_cell >= d.obs_begin + d.n_obs_local) return;
  std::get<DenseArray>(d.layers[layer]).values.data<double>()[(global_cell - d.obs_begin) * kGenes + gene] = std::nan("");
}

}  // namespace

TEST(DynamicsErrors, MissingSecondMomentsNameTheLayerAndTheWayOut) {
  Dataset d = toy(false);
  const std::string e = run(d, {});
  EXPECT_NE(e.find("toy.h5ad: layers/M_ss: layer not present: the stochastic estimator needs the first moments M_s, M_u and the second "
                   "moments M_ss, M_us (or use --method deterministic"),
            std::string::npos)
      << e;
  EXPECT_EQ(run(d, {{"method", "deterministic"}}), "<no exception>");
  EXPECT_EQ(matrix_rows(d.layer("velocity_S")), d.n_obs_local);
}

TEST(DynamicsErrors, NonFiniteMomentsAreRejected) {
  Dataset d = toy();
  poison(d, "M_u", 37, 4);   // on one rank only
  EXPECT_EQ(run(d, {}), "toy.h5ad: layers/M_s, M_u: NaN/Inf moments for gene 'gene_4' (moments must be finite: recompute them)");
  Dataset e = toy();
  poison(e, "M_ss", 16, 2);   // cell 16 has the largest s and u: an extreme cell of every gene
  EXPECT_EQ(run(e, {}), "toy.h5ad: layers/M_ss, M_us: NaN/Inf second moments (moments must be finite: recompute them)");
  Dataset f = toy();
  poison(f, "M_ss", 0, 2);   // cell 0 is not extreme: its second moments are never used
  EXPECT_EQ(run(f, {}), "<no exception>");
}

TEST(DynamicsErrors, OptionsAndGeneSelection) {
  Dataset d = toy();
  EXPECT_EQ(run(d, {{"perc_right", "none"}}),
            "--dynamics.perc_right: perc_left and perc_right are both 'none': no extreme cells to fit on");
  EXPECT_EQ(run(d, {{"perc_left", "100"}}), "--dynamics.perc_left: expected a percentage in [0, 100) or 'none', found '100'");
  EXPECT_EQ(run(d, {{"min_r2", "abc"}}), "--dynamics.min_r2: expected a number, found 'abc'");
  Array none(DType::boolean, kGenes);
  for (int64_t g = 0; g < kGenes; ++g) none.data<uint8_t>()[g] = 0;
  d.var.set("use_for_pca", Column::numeric(none));
  EXPECT_EQ(run(d, {}), "toy.h5ad: var/use_for_pca: no gene to fit velocities on");
}
