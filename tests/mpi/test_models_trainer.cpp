// The data-parallel trainer: at any rank count it must apply exactly the updates one process applies
// to the same global batches. The reference is plain single-process LibTorch (torch::nn::BatchNorm1d,
// torch::optim::AdamW, clip_grad_norm_) on whole batches, so the test checks the synchronised
// BatchNorm, the gradient all-reduce, the hand-written AdamW and the shuffle together. It also checks
// that a run cut short resumes from its HDF5 checkpoint to the same weights, and early stopping.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/partition.hpp"
#include "test_support.hpp"
#include "velocity/models/global_batches.hpp"
#include "velocity/models/keyed_random.hpp"
#include "velocity/models/trainer.hpp"

using namespace velofield;
using namespace velofield::models;

namespace {

constexpr int64_t kCells = 203, kIn = 4, kHidden = 16;

// A cell's features and target, from its global index (the same on every rank).
torch::Tensor features(const std::vector<int64_t>& cells) {
  torch::Tensor x = torch::empty({static_cast<int64_t>(cells.size()), kIn});
  for (size_t i = 0; i < cells.size(); ++i) {
    KeyedStream r(key_hash(7, 0, static_cast<uint64_t>(cells[i])));
    for (int64_t j = 0; j < kIn; ++j) x[static_cast<int64_t>(i)][j] = r.normal() * (1.0 + static_cast<double>(j));
  }
  return x;
}
torch::Tensor targets(const torch::Tensor& x) {
  return torch::sin(x.select(1, 0)) + 0.5 * x.select(1, 1) * x.select(1, 2) - 0.1 * x.select(1, 3);
}

// Linear → SyncBatchNorm → ReLU → Linear, squared error per cell.
struct Mlp : TrainableModel {
  torch::nn::Linear l1{kIn, kHidden}, l2{kHidden, 1};
  SyncBatchNorm bn;
  explicit Mlp(MPI_Comm comm) : bn(kHidden, 1e-3, 0.01, comm) {}
  std::vector<torch::Tensor> trainable() override {
    return {l1->weight, l1->bias, bn->weight, bn->bias, l2->weight, l2->bias};
  }
  NamedTensors state() override {
    return {{"l1.weight", l1->weight}, {"l1.bias", l1->bias}, {"bn.weight", bn->weight}, {"bn.bias", bn->bias},
            {"bn.running_mean", bn->running_mean}, {"bn.running_var", bn->running_var}, {"l2.weight", l2->weight},
            {"l2.bias", l2->bias}};
  }
  void set_training(bool on) override { bn->train(on); }
  torch::Tensor cells_loss(const std::vector<int64_t>& cells, const StepContext&) override {
    const torch::Tensor x = features(cells);
    const torch::Tensor pred = l2(torch::relu(bn(l1(x)))).squeeze(1);
    return (pred - targets(x)).pow(2).sum();
  }
};

TrainerOptions options() {
  TrainerOptions o;
  o.name = "test-mlp";
  o.seed = 11;
  o.batch_size = 32;
  o.max_epochs = 3;
  o.train_fraction = 0.9;
  o.grad_clip = 1.0;   // small enough to bind: the clip must see the global gradient
  o.adam = {1e-2, 0.9, 0.999, 0.01, 1e-2, true};   // scvi-tools' AdamW
  return o;
}

std::vector<double> flat(Mlp& m) {
  std::vector<double> out;
  for (auto& [name, t] : m.state()) {
    const torch::Tensor d = t.detach().to(torch::kDouble).contiguous().reshape({-1});
    out.insert(out.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  return out;
}

double max_relative(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1e-3, std::abs(b[i])));
  return worst;
}

std::vector<double> train_on(MPI_Comm comm, const TrainerOptions& o, TrainResult* result = nullptr) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const BlockPartition part{kCells, size};
  torch::manual_seed(static_cast<uint64_t>(100 + rank));   // different on every rank: the broadcast must fix it
  Mlp m(comm);
  TrainResult r = train_data_parallel(m, comm, kCells, part.begin(rank), part.end(rank), o);
  if (result) *result = r;
  return flat(m);
}

}  // namespace

TEST(ModelsTrainer, BatchesDoNotDependOnRankCountAndCoverTheTrainingCells) {
  const CellSplit split = split_cells(kCells, 0.9, 11);
  EXPECT_EQ(split.train.size(), 183u);   // ceil(0.9 · 203)
  EXPECT_EQ(split.validation.size(), 20u);
  const auto b0 = epoch_batches(split.train, 32, 11, 0), b1 = epoch_batches(split.train, 32, 11, 1);
  ASSERT_EQ(b0.size(), 6u);   // 5 × 32 + 23
  EXPECT_EQ(b0.back().size(), 23u);
  EXPECT_NE(b0[0], b1[0]);    // reshuffled each epoch
  std::vector<int64_t> all;
  for (const auto& b : b0) all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, split.train);
  // A trailing single cell is dropped (BatchNorm over one cell is undefined).
  EXPECT_EQ(epoch_batches(std::vector<int64_t>{0, 1, 2, 3, 4}, 2, 0, 0).size(), 2u);
}

TEST(ModelsTrainer, RanksAgreeWithSingleProcessLibTorch) {
  TrainerOptions o = options();
  const std::vector<double> world = train_on(MPI_COMM_WORLD, o);

  if (test::rank() != 0) return;
  // The reference: rank 0's initial weights (what the broadcast distributes), then plain LibTorch.
  torch::manual_seed(100);
  torch::nn::Linear l1(kIn, kHidden), l2(kHidden, 1);
  torch::nn::BatchNorm1d bn(torch::nn::BatchNorm1dOptions(kHidden).eps(1e-3).momentum(0.01));
  std::vector<torch::Tensor> params{l1->weight, l1->bias, bn->weight, bn->bias, l2->weight, l2->bias};
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2).eps(0.01).weight_decay(1e-2));
  const CellSplit split = split_cells(kCells, o.train_fraction, o.seed);
  for (int64_t epoch = 0; epoch < o.max_epochs; ++epoch)
    for (const auto& batch : epoch_batches(split.train, o.batch_size, o.seed, epoch)) {
      opt.zero_grad();
      const torch::Tensor x = features(batch);
      const torch::Tensor loss = (l2(torch::relu(bn(l1(x)))).squeeze(1) - targets(x)).pow(2).mean();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
      opt.step();
    }
  std::vector<double> ref;
  for (const torch::Tensor& t : {l1->weight, l1->bias, bn->weight, bn->bias, bn->running_mean, bn->running_var, l2->weight, l2->bias}) {
    const torch::Tensor d = t.detach().to(torch::kDouble).contiguous().reshape({-1});
    ref.insert(ref.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  ASSERT_EQ(world.size(), ref.size());
  const double rel = max_relative(world, ref);
  std::printf("[ trainer ] %d ranks vs single-process LibTorch after 18 steps: max relative difference %.3g\n", test::ranks(), rel);
  EXPECT_LT(rel, 1e-5);
  // The weights moved: the comparison is not between two untouched initialisations.
  torch::manual_seed(100);
  torch::nn::Linear fresh(kIn, kHidden);
  EXPECT_GT(std::abs(world[0] - fresh->weight[0][0].item<double>()), 1e-3);
}

TEST(ModelsTrainer, ResumedRunEndsWithTheUninterruptedWeights) {
  const std::string dir = test::temp_dir();
  TrainerOptions o = options();
  o.max_epochs = 4;
  o.checkpoint = dir + "/straight.h5";
  TrainResult straight_result;
  const std::vector<double> straight = train_on(MPI_COMM_WORLD, o, &straight_result);
  EXPECT_EQ(straight_result.resumed_at_epoch, -1);

  o.checkpoint = dir + "/killed.h5";
  o.stop_after_epochs = 2;   // as if killed after the second epoch's checkpoint
  TrainResult first;
  train_on(MPI_COMM_WORLD, o, &first);
  EXPECT_FALSE(first.finished);
  EXPECT_EQ(first.history.size(), 2u);
  o.stop_after_epochs = -1;
  TrainResult second;
  const std::vector<double> resumed = train_on(MPI_COMM_WORLD, o, &second);
  EXPECT_EQ(second.resumed_at_epoch, 2);
  ASSERT_EQ(second.history.size(), 4u);
  EXPECT_EQ(second.steps, straight_result.steps);
  EXPECT_EQ(resumed, straight);   // bitwise: same ranks, same state, same batches
  EXPECT_DOUBLE_EQ(second.history[3].validation, straight_result.history[3].validation);
}

TEST(ModelsTrainer, EarlyStoppingEpochAgreesAcrossRankCounts) {
  TrainerOptions o = options();
  o.max_epochs = 60;
  o.patience = 2;
  o.adam.lr = 5e-2;
  TrainResult world;
  train_on(MPI_COMM_WORLD, o, &world);
  // Validation losses are global: the same curve at every rank count (here against one process).
  TrainResult single;
  if (test::rank() == 0) train_on(MPI_COMM_SELF, o, &single);
  if (test::rank() != 0) return;
  EXPECT_TRUE(world.early_stopped);
  ASSERT_EQ(world.history.size(), single.history.size());
  for (size_t e = 0; e < world.history.size(); ++e)
    EXPECT_NEAR(world.history[e].validation, single.history[e].validation, 1e-5 * std::abs(single.history[e].validation));
  EXPECT_LT(world.history.back().validation, world.history.front().validation);
}

TEST(ModelsTrainer, TooFewCellsForABatchIsAnError) {
  TrainerOptions o = options();
  o.source = "tiny.h5ad";
  Mlp m(MPI_COMM_WORLD);
  const BlockPartition part{1, test::ranks()};
  const std::string msg = test::error_of(
      [&] { train_data_parallel(m, MPI_COMM_WORLD, 1, part.begin(test::rank()), part.end(test::rank()), o); });
  EXPECT_EQ(msg, "tiny.h5ad: obs: test-mlp: 1 training cells (of 1): too few cells for a batch (need at least 2)") << msg;
}
