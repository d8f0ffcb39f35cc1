#pragma once
// The halo exchange of DeepVelo's graph layers as a differentiable op. A graph convolution of this
// rank's cells reads the hidden rows of remote neighbours (the halo); the forward pass fetches them
// from their owners, and the backward pass sends the halo rows' gradients back to the owners, which
// add them to the gradients of their own rows. row_exchange.hpp's fetch_rows moves rows one way
// only and renegotiates the requests at each call; here the request lists are settled once (they
// are the graph's) and kept, because the backward pass needs the owner's side of them.
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/partition.hpp"

namespace velofield::models {

class HaloExchange {
 public:
  // `halo`: the global indices of the remote rows this rank reads, sorted, unique, none its own.
  // `max_width`: the widest row gather() will move (MPI counts are int). Collective.
  HaloExchange(MPI_Comm comm, const BlockPartition& partition, std::vector<int64_t> halo, int64_t max_width);

  // `local`: this rank's rows [n_local, width] (float32 or float64, width ≤ max_width). Returns the
  // halo rows [halo.size(), width] in the order of `halo`; differentiable with respect to `local`.
  // Collective in both passes: every rank calls it the same number of times.
  torch::Tensor gather(const torch::Tensor& local) const;

  const std::vector<int64_t>& halo() const { return halo_; }

  // The two directions of the exchange on plain rows (used by the autograd op).
  torch::Tensor forward_rows(const torch::Tensor& local) const;
  torch::Tensor backward_rows(const torch::Tensor& halo_grad, int64_t n_local) const;

 private:
  MPI_Comm comm_;
  std::vector<int64_t> halo_;
  std::vector<int> need_counts_, need_displs_;   // rows this rank receives from each rank
  std::vector<int> give_counts_, give_displs_;   // rows this rank sends to each rank
  torch::Tensor given_rows_;                     // local row of each row sent, in send order (int64)
};

}  // namespace velofield::models
