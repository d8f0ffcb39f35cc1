#pragma once
// The collective pieces of data-parallel training over MPI: every rank holds a replica of the model,
// computes the loss of the cells it owns in each global batch, and the replicas stay identical
// because they start from rank 0's weights and apply the same summed gradient.
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace velofield::models {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Rank 0's values of every tensor (parameters and buffers) to all ranks. Collective.
void broadcast_tensors(const NamedTensors& tensors, MPI_Comm comm);

// Sums every parameter's gradient over the ranks, flattened into buckets of up to
// `bucket_elements` values (one MPI_Allreduce per bucket instead of one per tensor). A parameter
// that took no part in this rank's loss gets a zero gradient first, so every rank packs the same
// buckets. Collective.
void allreduce_gradients(const std::vector<torch::Tensor>& parameters, MPI_Comm comm, int64_t bucket_elements = 1 << 20);

// Σ over ranks of x as a differentiable op: the backward pass sums the incoming gradients over the
// ranks too, because every rank's loss depends on the summed value. Collective in both passes.
torch::Tensor allreduce_sum(const torch::Tensor& x, MPI_Comm comm);

// Σ over ranks of a local double. Collective.
double global_sum(double local, MPI_Comm comm);

// BatchNorm1d over the global batch (SyncBatchNorm): mean and biased variance of the features over
// the cells of all ranks, so the forward pass equals single-process BatchNorm on the whole batch.
// Running statistics follow PyTorch (running = (1 - momentum)·running + momentum·batch, unbiased
// variance); in eval mode they normalise.
class SyncBatchNormImpl : public torch::nn::Module {
 public:
  SyncBatchNormImpl(int64_t features, double eps, double momentum, MPI_Comm comm);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias, running_mean, running_var;

 private:
  double eps_, momentum_;
  MPI_Comm comm_;
};
TORCH_MODULE(SyncBatchNorm);

// Adam with PyTorch's update rule; weight decay either coupled (L2 added to the gradient, torch.optim.Adam:
// cellDancer) or decoupled (torch.optim.AdamW: scvi-tools/VeloVI). Its state is plain tensors so the
// checkpoint holds it.
struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;
  bool amsgrad = false;   // torch's amsgrad: the denominator uses the running maximum of v (DeepVelo)
};
class Adam {
 public:
  Adam(std::vector<torch::Tensor> parameters, AdamOptions options);
  void zero_grad();
  void step();
  // State by name (m/<i>, v/<i>, step), for checkpoints.
  NamedTensors state();
  int64_t steps() const { return step_; }
  void set_steps(int64_t s) { step_ = s; }
  void set_lr(double lr) { o_.lr = lr; }   // for a learning-rate schedule (StepLR)

 private:
  std::vector<torch::Tensor> params_, m_, v_, v_max_;
  AdamOptions o_;
  int64_t step_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm (torch's clip_grad_norm_, with
// its 1e-6 in the denominator). The gradients must already be summed over ranks.
void clip_gradient_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace velofield::models
