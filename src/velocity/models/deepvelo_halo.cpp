#include "velocity/models/deepvelo_halo.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace velofield::models {

namespace {

MPI_Datatype row_type(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat) return MPI_FLOAT;
  if (t.scalar_type() == torch::kDouble) return MPI_DOUBLE;
  throw std::invalid_argument("deepvelo halo exchange: rows must be float32 or float64");
}

std::vector<int> scaled(const std::vector<int>& v, int64_t width) {
  std::vector<int> out(v.size());
  for (size_t r = 0; r < v.size(); ++r) out[r] = static_cast<int>(v[r] * width);
  return out;
}

struct HaloGather : public torch::autograd::Function<HaloGather> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& local, int64_t plan) {
    ctx->saved_data["plan"] = plan;
    ctx->saved_data["n_local"] = local.size(0);
    return reinterpret_cast<const HaloExchange*>(plan)->forward_rows(local.detach());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto* plan = reinterpret_cast<const HaloExchange*>(ctx->saved_data["plan"].toInt());
    return {plan->backward_rows(grads[0], ctx->saved_data["n_local"].toInt()), torch::Tensor()};
  }
};

}  // namespace

HaloExchange::HaloExchange(MPI_Comm comm, const BlockPartition& partition, std::vector<int64_t> halo, int64_t max_width)
    : comm_(comm), halo_(std::move(halo)) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const size_t P = static_cast<size_t>(size);
  need_counts_.assign(P, 0);
  give_counts_.assign(P, 0);
  for (int64_t g : halo_) need_counts_[static_cast<size_t>(partition.owner(g))]++;
  MPI_Alltoall(need_counts_.data(), 1, MPI_INT, give_counts_.data(), 1, MPI_INT, comm);
  need_displs_.assign(P, 0);
  give_displs_.assign(P, 0);
  for (size_t r = 1; r < P; ++r) {
    need_displs_[r] = need_displs_[r - 1] + need_counts_[r - 1];
    give_displs_[r] = give_displs_[r - 1] + give_counts_[r - 1];
  }
  const int64_t n_give = static_cast<int64_t>(give_displs_.back()) + give_counts_.back();
  const int64_t biggest = std::max<int64_t>(n_give, static_cast<int64_t>(halo_.size())) * max_width;
  agree(comm, biggest <= INT32_MAX,
        "internal: the deepvelo halo exchange would move " + std::to_string(biggest) + " values (more than 2^31); use more ranks");
  std::vector<int64_t> requests(static_cast<size_t>(n_give));
  MPI_Alltoallv(halo_.data(), need_counts_.data(), need_displs_.data(), MPI_INT64_T, requests.data(), give_counts_.data(),
                give_displs_.data(), MPI_INT64_T, comm);
  const int64_t first = partition.begin(rank);
  for (int64_t& q : requests) q -= first;
  given_rows_ = torch::tensor(requests, torch::kLong);
}

torch::Tensor HaloExchange::forward_rows(const torch::Tensor& local) const {
  const int64_t width = local.size(1);
  const torch::Tensor send = local.index_select(0, given_rows_).contiguous();
  torch::Tensor recv = torch::empty({static_cast<int64_t>(halo_.size()), width}, local.options());
  const MPI_Datatype type = row_type(local);
  MPI_Alltoallv(send.data_ptr(), scaled(give_counts_, width).data(), scaled(give_displs_, width).data(), type,
                recv.data_ptr(), scaled(need_counts_, width).data(), scaled(need_displs_, width).data(), type, comm_);
  return recv;
}

torch::Tensor HaloExchange::backward_rows(const torch::Tensor& halo_grad, int64_t n_local) const {
  const torch::Tensor send = halo_grad.contiguous();
  const int64_t width = send.size(1);
  torch::Tensor recv = torch::empty({given_rows_.size(0), width}, send.options());
  const MPI_Datatype type = row_type(send);
  MPI_Alltoallv(send.data_ptr(), scaled(need_counts_, width).data(), scaled(need_displs_, width).data(), type,
                recv.data_ptr(), scaled(give_counts_, width).data(), scaled(give_displs_, width).data(), type, comm_);
  // A row several ranks read collects the gradient of every copy.
  return torch::zeros({n_local, width}, send.options()).index_add_(0, given_rows_, recv);
}

torch::Tensor HaloExchange::gather(const torch::Tensor& local) const {
  return HaloGather::apply(local, reinterpret_cast<int64_t>(this));
}

}  // namespace velofield::models
