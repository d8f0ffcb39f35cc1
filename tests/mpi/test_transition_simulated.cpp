// Issue 7 acceptance on simulated data: the embedding velocity that cell-velocities projects from
// the true gene-space velocity onto the 2-D truth layout points along the true direction of time
// there (`velofield evaluate`'s per-cell cosine with obsm/true_velocity_true_2d), far above the
// same pipeline fed each cell's velocity with its genes shuffled. (Velocities exchanged between
// cells are no null model here: the simulator's gene programs run the same way along most of the
// tree, so another cell's velocity still points forward; the test prints that number too.) Noisy
// counts (Poisson, kNN-averaged into M_s) and noise-free abundances; the graph is the exact kNN in
// log expression, not the layout.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <random>

#include "core/config.hpp"
#include "data/row_exchange.hpp"
#include "evaluate/velocity_evaluation.hpp"
#include "test_support.hpp"
#include "transition/cell_velocities_stage.hpp"
#include "transition_fixture.hpp"

using namespace velofield;

namespace {

void run_cell_velocities(Dataset& d, const std::map<std::string, std::string>& keys) {
  const Stage stage = cell_velocities_stage();
  Config config;
  for (const auto& [k, v] : keys) config.set("cell-velocities", k, v);
  stage.run(d, StageConfig(config, "cell-velocities", stage.keys));
}

SimulationOptions simulation(bool noise_free) {
  SimulationOptions o;
  o.n_cells = 1500;
  o.n_genes = 120;
  o.n_lineages = 2;
  o.seed = 11;
  o.noise_free = noise_free;
  return o;
}

// Cell i gets the velocity of cell (7919·i + 13) mod N: a fixed permutation (7919 is prime and
// does not divide N), rows fetched from whichever rank holds them.
void shuffle_velocity_between_cells(Dataset& d) {
  DenseArray& v = std::get<DenseArray>(d.layers.at("velocity_S"));
  const int64_t G = v.row_stride();
  std::vector<int64_t> source(static_cast<size_t>(d.n_obs_local)), needed;
  for (int64_t i = 0; i < d.n_obs_local; ++i) source[static_cast<size_t>(i)] = ((d.obs_begin + i) * 7919 + 13) % d.n_obs;
  needed = source;
  std::sort(needed.begin(), needed.end());
  const float* values = v.values.data<float>();
  const std::function<void(int64_t, float*)> pack = [&](int64_t r, float* out) { std::copy(values + r * G, values + (r + 1) * G, out); };
  const std::vector<float> rows = fetch_rows(d.comm, d.partition(), needed, G, pack);
  DenseArray shuffled = DenseArray::zeros({d.n_obs_local, G}, DType::f32);
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const size_t k = static_cast<size_t>(std::lower_bound(needed.begin(), needed.end(), source[static_cast<size_t>(i)]) - needed.begin());
    std::copy(rows.begin() + static_cast<std::ptrdiff_t>(k * G), rows.begin() + static_cast<std::ptrdiff_t>((k + 1) * G),
              shuffled.values.data<float>() + i * G);
  }
  v = std::move(shuffled);
}

// Each cell's velocity over a permutation of its genes (seeded by the cell's global index).
void shuffle_velocity_genes(Dataset& d) {
  DenseArray& v = std::get<DenseArray>(d.layers.at("velocity_S"));
  const int64_t G = v.row_stride();
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    std::mt19937_64 rng(static_cast<uint64_t>(d.obs_begin + i) + 1);
    float* row = v.values.data<float>() + i * G;
    std::shuffle(row, row + G, rng);
  }
}

double median_embedding_cosine(Dataset& d) {
  run_cell_velocities(d, {{"basis", "true_2d"}, {"enforce", "true"}});
  EvaluateOptions o;
  o.basis = "true_2d";
  o.velocity = "velocity_S";
  const EvaluationReport r = evaluate_velocity(d, o);
  EXPECT_TRUE(r.embedding_cosine.has_value());
  EXPECT_EQ(r.embedding_cosine->summary.count + r.embedding_cosine->cells_without_truth, d.n_obs);
  return r.embedding_cosine->summary.median;
}

}  // namespace

TEST(TransitionSimulated, EmbeddingVelocityFollowsTheTruthAndBeatsShuffledVelocities) {
  for (bool noise_free : {false, true}) {
    Dataset d = test::simulated_transition_inputs(MPI_COMM_WORLD, simulation(noise_free));
    const Matrix velocity = d.layers.at("velocity_S");
    const double median = median_embedding_cosine(d);
    shuffle_velocity_genes(d);
    const double shuffled = median_embedding_cosine(d);
    d.layers["velocity_S"] = velocity;
    shuffle_velocity_between_cells(d);
    const double between_cells = median_embedding_cosine(d);
    if (test::rank() == 0)
      std::printf("%s: median cosine of velocity_true_2d with the true direction %.3f; genes shuffled %.3f; velocities of other "
                  "cells %.3f\n",
                  noise_free ? "noise-free" : "Poisson counts", median, shuffled, between_cells);
    EXPECT_GE(median, noise_free ? 0.99 : 0.9);
    EXPECT_GE(median - shuffled, 0.6);
    // With counts the shuffled velocity has no direction. Noise-free, a displacement is nearly the
    // velocity itself, whose mass sits in a few genes; a shuffled copy puts below-mean values on
    // them, so its correlation with the forward displacement is typically (not on average)
    // negative and the median points backward: that case is a margin, not a zero.
    if (!noise_free) {
      EXPECT_LE(std::fabs(shuffled), 0.3);
    }
  }
}
