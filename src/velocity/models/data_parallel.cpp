#include "velocity/models/data_parallel.hpp"

#include <cmath>
#include <stdexcept>

namespace velofield::models {

namespace {

MPI_Datatype mpi_type(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat) return MPI_FLOAT;
  if (t.scalar_type() == torch::kDouble) return MPI_DOUBLE;
  if (t.scalar_type() == torch::kLong) return MPI_INT64_T;
  throw std::invalid_argument("data-parallel: tensors must be float32, float64 or int64");
}

// MPI reads host memory: a tensor on another device goes through a host copy.
void allreduce_in_place(torch::Tensor& host, MPI_Comm comm) {
  MPI_Allreduce(MPI_IN_PLACE, host.data_ptr(), static_cast<int>(host.numel()), mpi_type(host), MPI_SUM, comm);
}

struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t fcomm) {
    ctx->saved_data["comm"] = fcomm;
    torch::Tensor host = x.detach().to(torch::kCPU).contiguous().clone();
    allreduce_in_place(host, MPI_Comm_f2c(static_cast<MPI_Fint>(fcomm)));
    return host.to(x.device());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(ctx->saved_data["comm"].toInt()));
    torch::Tensor host = grads[0].to(torch::kCPU).contiguous().clone();
    allreduce_in_place(host, comm);
    return {host.to(grads[0].device()), torch::Tensor()};
  }
};

}  // namespace

void broadcast_tensors(const NamedTensors& tensors, MPI_Comm comm) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) {
    torch::Tensor host = t.to(torch::kCPU).contiguous().clone();
    MPI_Bcast(host.data_ptr(), static_cast<int>(host.numel()), mpi_type(host), 0, comm);
    t.copy_(host);
  }
}

void allreduce_gradients(const std::vector<torch::Tensor>& parameters, MPI_Comm comm, int64_t bucket_elements) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  size_t first = 0;
  while (first < grads.size()) {
    // A bucket: consecutive gradients of one dtype up to bucket_elements values (at least one).
    size_t last = first + 1;
    int64_t count = grads[first].numel();
    while (last < grads.size() && grads[last].scalar_type() == grads[first].scalar_type() &&
           count + grads[last].numel() <= bucket_elements)
      count += grads[last++].numel();
    std::vector<torch::Tensor> flat;
    for (size_t i = first; i < last; ++i) flat.push_back(grads[i].reshape({-1}).to(torch::kCPU));
    torch::Tensor bucket = torch::cat(flat).contiguous();
    allreduce_in_place(bucket, comm);
    int64_t offset = 0;
    for (size_t i = first; i < last; ++i) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(bucket.narrow(0, offset, n).view(grads[i].sizes()));
      offset += n;
    }
    first = last;
  }
}

torch::Tensor allreduce_sum(const torch::Tensor& x, MPI_Comm comm) {
  return AllReduceSum::apply(x, static_cast<int64_t>(MPI_Comm_c2f(comm)));
}

double global_sum(double local, MPI_Comm comm) {
  double out = 0;
  MPI_Allreduce(&local, &out, 1, MPI_DOUBLE, MPI_SUM, comm);
  return out;
}

SyncBatchNormImpl::SyncBatchNormImpl(int64_t features, double eps, double momentum, MPI_Comm comm)
    : eps_(eps), momentum_(momentum), comm_(comm) {
  weight = register_parameter("weight", torch::ones({features}));
  bias = register_parameter("bias", torch::zeros({features}));
  running_mean = register_buffer("running_mean", torch::zeros({features}));
  running_var = register_buffer("running_var", torch::ones({features}));
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& x) {
  if (!is_training()) return (x - running_mean) / torch::sqrt(running_var + eps_) * weight + bias;
  const double n = global_sum(static_cast<double>(x.size(0)), comm_);
  // Two passes (mean, then squared deviations) rather than E[x²] − E[x]²: the same rounding as
  // PyTorch's BatchNorm, and no cancellation for features with a large mean.
  const torch::Tensor mean = allreduce_sum(x.sum(0), comm_) / n;
  const torch::Tensor centred = x - mean;
  const torch::Tensor var = allreduce_sum((centred * centred).sum(0), comm_) / n;
  {
    torch::NoGradGuard no_grad;
    running_mean.mul_(1 - momentum_).add_(mean.detach(), momentum_);
    running_var.mul_(1 - momentum_).add_(var.detach() * (n / std::max(n - 1, 1.0)), momentum_);
  }
  return centred / torch::sqrt(var + eps_) * weight + bias;
}

Adam::Adam(std::vector<torch::Tensor> parameters, AdamOptions options) : params_(std::move(parameters)), o_(options) {
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
    if (o_.amsgrad) v_max_.push_back(torch::zeros_like(p));
  }
}

void Adam::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1 - std::pow(o_.beta1, static_cast<double>(step_));
  const double bc2 = 1 - std::pow(o_.beta2, static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad();
    if (o_.weight_decay != 0) {
      if (o_.decoupled) p.mul_(1 - o_.lr * o_.weight_decay);
      else g = g + o_.weight_decay * p;
    }
    m_[i].mul_(o_.beta1).add_(g, 1 - o_.beta1);
    v_[i].mul_(o_.beta2).addcmul_(g, g, 1 - o_.beta2);
    if (o_.amsgrad) torch::maximum_out(v_max_[i], v_max_[i], v_[i]);
    const torch::Tensor denom = ((o_.amsgrad ? v_max_[i] : v_[i]).sqrt() / std::sqrt(bc2)).add_(o_.eps);
    p.addcdiv_(m_[i], denom, -o_.lr / bc1);
  }
}

NamedTensors Adam::state() {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("adam/m/" + std::to_string(i), m_[i]);
    out.emplace_back("adam/v/" + std::to_string(i), v_[i]);
    if (o_.amsgrad) out.emplace_back("adam/v_max/" + std::to_string(i), v_max_[i]);
  }
  return out;
}

void clip_gradient_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (const auto& p : parameters)
    if (p.grad().defined()) total += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  const double norm = std::sqrt(total);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1)
    for (const auto& p : parameters)
      if (p.grad().defined()) p.mutable_grad().mul_(coef);
}

}  // namespace velofield::models
