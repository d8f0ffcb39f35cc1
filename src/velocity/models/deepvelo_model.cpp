#include "velocity/models/deepvelo_model.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/partition.hpp"
#include "data/row_exchange.hpp"
#include "velocity/models/data_parallel.hpp"
#include "velocity/models/deepvelo_graph.hpp"
#include "velocity/models/deepvelo_halo.hpp"
#include "velocity/models/keyed_random.hpp"

namespace velofield::models {

namespace {

// Σ over ranks of the direction loss's per-gene sums. The backward pass is the identity: every rank
// evaluates the same loss of the summed statistics, so the gradient with respect to its own share
// is the loss's gradient with respect to the sum, which it already holds; the parameter gradients
// are then summed once per step (allreduce_gradients). data_parallel's allreduce_sum sums the
// incoming gradients instead, which is right for a loss that is itself summed over the ranks.
struct GlobalStatistics : public torch::autograd::Function<GlobalStatistics> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x, int64_t fcomm) {
    torch::Tensor host = x.detach().to(torch::kDouble).contiguous().clone();
    MPI_Allreduce(MPI_IN_PLACE, host.data_ptr(), static_cast<int>(host.numel()), MPI_DOUBLE, MPI_SUM,
                  MPI_Comm_f2c(static_cast<MPI_Fint>(fcomm)));
    return host;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list grads) {
    return {grads[0], torch::Tensor()};
  }
};

// Per-gene masked Pearson correlation from global sums over the masked cells (n, Σx, Σx², Σxy, Σy,
// Σy²): the masked values centred by their masked mean, each normalised by sqrt(Σ centred² + 1e-9).
torch::Tensor masked_pearson(const torch::Tensor& n, const torch::Tensor& sx, const torch::Tensor& sxx,
                             const torch::Tensor& sxy, const torch::Tensor& sy, const torch::Tensor& syy) {
  const torch::Tensor nn = n.clamp_min(1);
  const torch::Tensor mx = sx / nn, my = sy / nn;
  const torch::Tensor cov = sxy - nn * mx * my;
  const torch::Tensor vx = (sxx - nn * mx * mx).clamp_min(0), vy = (syy - nn * my * my).clamp_min(0);
  return cov / (torch::sqrt(vx + 1e-9) * torch::sqrt(vy + 1e-9));
}

std::vector<double> flat(const torch::Tensor& t) {
  const torch::Tensor d = t.detach().to(torch::kDouble).contiguous().reshape({-1});
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

std::vector<float> flat_float(const torch::Tensor& t) {
  const torch::Tensor d = t.detach().to(torch::kFloat).contiguous().reshape({-1});
  return {d.data_ptr<float>(), d.data_ptr<float>() + d.numel()};
}

}  // namespace

DeepveloFit fit_deepvelo(MPI_Comm comm, const DeepveloInput& in, const DeepveloOptions& o) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  const BlockPartition cells{in.n_cells, ranks};
  const int64_t n = in.end - in.begin, G = in.n_genes, N = in.n_cells;
  const torch::Dtype dtype = o.double_precision ? torch::kDouble : torch::kFloat;
  const torch::TensorOptions opt = torch::dtype(dtype);

  const DeepveloGraph graph =
      build_deepvelo_graph(comm, cells, in.knn_indptr, in.knn_cols, in.knn_distances, o.top_g, o.top_c);
  const int64_t n_cols = n + static_cast<int64_t>(graph.halo.size());
  torch::Tensor a_hat;
  {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = graph.indptr[static_cast<size_t>(i)]; k < graph.indptr[static_cast<size_t>(i + 1)]; ++k) rows.push_back(i);
    const torch::Tensor idx = torch::stack({torch::tensor(rows, torch::kLong), torch::tensor(graph.cols, torch::kLong)});
    a_hat = torch::sparse_coo_tensor(idx, torch::tensor(graph.weights, torch::kDouble).to(dtype), {n, n_cols}, opt).coalesce();
  }
  std::vector<int64_t> dims{2 * G};
  dims.insert(dims.end(), o.hidden.begin(), o.hidden.end());
  dims.push_back(2 * G);
  const int64_t L = static_cast<int64_t>(dims.size()) - 1;
  int64_t max_width = 1;
  for (int64_t l = 0; l < L; ++l) max_width = std::max(max_width, std::min(dims[static_cast<size_t>(l)], dims[static_cast<size_t>(l + 1)]));
  const HaloExchange halo(comm, cells, graph.halo, max_width);

  const torch::Tensor u = torch::from_blob(const_cast<float*>(in.u.data()), {n, G}, torch::kFloat).to(dtype).clone();
  const torch::Tensor s = torch::from_blob(const_cast<float*>(in.s.data()), {n, G}, torch::kFloat).to(dtype).clone();
  const torch::Tensor x = torch::cat({u, s}, 1);
  // The loss's neighbour moments: this rank's rows, then the remote neighbours' (fetched once).
  const std::vector<float> remote_s = fetch_rows(comm, cells, graph.loss_halo, G, [&](int64_t row, float* out) {
    std::copy(in.s.begin() + row * G, in.s.begin() + (row + 1) * G, out);
  });
  const torch::Tensor s_all = torch::cat(
      {s, torch::from_blob(const_cast<float*>(remote_s.data()), {static_cast<int64_t>(graph.loss_halo.size()), G}, torch::kFloat)
              .to(dtype)});
  const int64_t K = graph.n_neighbors;
  const torch::Tensor neighbors = torch::tensor(graph.neighbors, torch::kLong).view({n, K});
  // Padding (a cell's own row) is a zero displacement: never a future or past neighbour.
  const torch::Tensor real = neighbors.ne(torch::arange(n, torch::kLong).unsqueeze(1)).to(dtype);

  // The direction loss's masks (expressed cells) and the sums that do not depend on the network.
  const torch::Tensor ud = u.to(torch::kDouble), sd = s.to(torch::kDouble);
  const torch::Tensor mu = ud.gt(0).to(torch::kDouble), ms = sd.gt(0).to(torch::kDouble);
  torch::Tensor fixed = torch::stack({mu.sum(0), (mu * ud).sum(0), (mu * ud * ud).sum(0), ms.sum(0), (ms * sd).sum(0),
                                      (ms * sd * sd).sum(0)})
                            .contiguous();
  MPI_Allreduce(MPI_IN_PLACE, fixed.data_ptr(), static_cast<int>(fixed.numel()), MPI_DOUBLE, MPI_SUM, comm);

  // Parameters: DGL GraphConv's, W [in, out] Xavier-uniform (keyed by the seed, the same on every
  // rank), b zero.
  std::vector<torch::Tensor> weights, biases, params;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t fan_in = dims[static_cast<size_t>(l)], fan_out = dims[static_cast<size_t>(l + 1)];
    const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    std::vector<double> w(static_cast<size_t>(fan_in * fan_out));
    KeyedStream r(key_hash(o.seed, static_cast<uint64_t>(Stream::init), static_cast<uint64_t>(l)));
    for (double& v : w) v = (2 * r.uniform() - 1) * bound;
    weights.push_back(torch::tensor(w, torch::kDouble).view({fan_in, fan_out}).to(dtype).set_requires_grad(true));
    biases.push_back(torch::zeros({fan_out}, opt).set_requires_grad(true));
    params.push_back(weights.back());
    params.push_back(biases.back());
  }

  // Dropout keyed by (seed, step, layer, global cell): 16 random bits per feature.
  const uint32_t drop_below = static_cast<uint32_t>(std::lround(o.dropout * 65536.0));
  auto dropout_mask = [&](int64_t step, int64_t layer, int64_t width) {
    std::vector<float> m(static_cast<size_t>(n * width));
    const float keep = static_cast<float>(1.0 / (1.0 - o.dropout));
    for (int64_t i = 0; i < n; ++i) {
      KeyedStream r(key_hash(o.seed, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(in.begin + i),
                             static_cast<uint64_t>(step * 64 + layer)));
      uint64_t bits = 0;
      for (int64_t j = 0; j < width; ++j) {
        if (j % 4 == 0) bits = r.next();
        m[static_cast<size_t>(i * width + j)] = static_cast<uint32_t>((bits >> (16 * (j % 4))) & 0xFFFF) >= drop_below ? keep : 0.0f;
      }
    }
    return torch::tensor(m, torch::kFloat).view({n, width}).to(dtype);
  };

  auto forward = [&](bool training, int64_t step) {
    torch::Tensor h = x;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t fan_in = dims[static_cast<size_t>(l)], fan_out = dims[static_cast<size_t>(l + 1)];
      const torch::Tensor& w = weights[static_cast<size_t>(l)];
      // Â(HW) = (ÂH)W: multiply first when that narrows the rows, so the halo moves the narrower side.
      if (fan_out <= fan_in) {
        const torch::Tensor z = h.mm(w);
        h = torch::mm(a_hat, torch::cat({z, halo.gather(z)})) + biases[static_cast<size_t>(l)];
      } else {
        h = torch::mm(a_hat, torch::cat({h, halo.gather(h)})).mm(w) + biases[static_cast<size_t>(l)];
      }
      if (l < L - 1) h = torch::relu(h);
      if (training && o.dropout > 0) h = h * dropout_mask(step, l, fan_out);
    }
    return h;
  };

  const double sqrt_g = std::sqrt(static_cast<double>(G));
  const int64_t chunk = std::max<int64_t>(1, o.chunk_elements / std::max<int64_t>(1, K * G));
  // (this rank's loss, global continuity loss, global direction loss)
  auto loss_of = [&](const torch::Tensor& v) {
    torch::Tensor mle = torch::zeros({}, opt);
    for (int64_t c0 = 0; c0 < n; c0 += chunk) {
      const int64_t c = std::min(chunk, n - c0);
      const torch::Tensor vc = v.narrow(0, c0, c);
      torch::Tensor plus, minus;
      {
        // The future and past neighbours are chosen without gradient (DeepVelo's candidates).
        // With the neighbours' rows s_j gathered once: (s_j − s_i)·v_i = s_j·v_i − s_i·v_i, and the mean
        // displacement over a set of n neighbours = (Σ s_j − n s_i)/(n + 1e-9); one pass over the
        // gathered block for the dot products and one for both sums (memory-bound on this block).
        torch::NoGradGuard no_grad;
        const torch::Tensor vd_c = vc.detach(), si = s.narrow(0, c0, c);
        const torch::Tensor near = s_all.index_select(0, neighbors.narrow(0, c0, c).reshape({-1})).view({c, K, G});
        const torch::Tensor dot = near.bmm(vd_c.unsqueeze(2)).squeeze(2) - (si * vd_c).sum(1, true);
        const torch::Tensor sides = torch::stack({dot.gt(0), dot.lt(0)}, 1).to(dtype) * real.narrow(0, c0, c).unsqueeze(1);   // [c, 2, K]
        const torch::Tensor sums = sides.bmm(near);                                       // [c, 2, G]
        const torch::Tensor count = sides.sum(2, true);                                   // [c, 2, 1]
        const torch::Tensor mean = (sums - count * si.unsqueeze(1)) / (count + 1e-9);
        plus = mean.select(1, 0);
        minus = mean.select(1, 1);
      }
      mle = mle + (vc - plus).pow(2).sum() + (vc + minus).pow(2).sum();
    }
    const torch::Tensor mle_local = (mle * (0.5 * sqrt_g / (static_cast<double>(N) * static_cast<double>(G)))).to(torch::kDouble);
    const torch::Tensor vd = v.to(torch::kDouble);
    // The masked velocity once per mask: autograd keeps one copy of each, not one per product.
    const torch::Tensor mv_u = mu * vd, mv_s = ms * vd;
    const torch::Tensor local = torch::cat({torch::stack({mv_u.sum(0), (mv_u * vd).sum(0), (mv_u * ud).sum(0), mv_s.sum(0),
                                                          (mv_s * vd).sum(0), (mv_s * sd).sum(0)})
                                                .reshape({-1}),
                                            mle_local.detach().reshape({1})});
    const torch::Tensor S = GlobalStatistics::apply(local, static_cast<int64_t>(MPI_Comm_c2f(comm)));
    const torch::Tensor st = S.narrow(0, 0, 6 * G).view({6, G});
    const torch::Tensor rho_u = masked_pearson(fixed[0], st[0], st[1], st[2], fixed[1], fixed[2]);
    const torch::Tensor rho_s = masked_pearson(fixed[3], st[3], st[4], st[5], fixed[4], fixed[5]);
    const double cu = o.coeff_u, cs = o.coeff_s;
    const torch::Tensor direction = (cu + cs - (cu * rho_u - cs * rho_s).mean()) / (cu + cs);
    const double dir = direction.item<double>();
    const double lambda = o.pearson_scale * sqrt_g / std::clamp(1 - dir, 0.01, 0.5);
    const double mle_global = S[6 * G].item<double>();
    return std::make_tuple(mle_local + lambda * direction, mle_global, dir, mle_global + lambda * dir);
  };

  AdamOptions adam_options;
  adam_options.lr = o.lr;
  adam_options.amsgrad = true;
  Adam adam(params, adam_options);
  DeepveloFit fit;
  // Seconds of this rank in the parts of a step (forward pass, loss, backward pass, gradient
  // all-reduce and update), for the log: where the time goes at each rank count.
  double seconds[4] = {0, 0, 0, 0};
  auto lap = [](double& acc, std::chrono::steady_clock::time_point& t) {
    const auto now = std::chrono::steady_clock::now();
    acc += std::chrono::duration<double>(now - t).count();
    t = now;
  };
  for (int64_t e = 0; e < o.epochs; ++e) {
    auto t = std::chrono::steady_clock::now();
    adam.set_lr(o.lr * std::pow(o.lr_decay, static_cast<double>(e)));
    adam.zero_grad();
    const torch::Tensor y = forward(true, e);
    const torch::Tensor v = y.narrow(1, 0, G) * u + y.narrow(1, G, G) * s;
    lap(seconds[0], t);
    const auto [loss, mle, dir, total] = loss_of(v);
    lap(seconds[1], t);
    if (!std::isfinite(total))   // the same global value on every rank: all throw together
      fail(o.source, "layers", cat("deepvelo: the loss is not finite at step ", e, " (non-finite or extreme moments?)"));
    loss.backward();
    lap(seconds[2], t);
    allreduce_gradients(params, comm);
    adam.step();
    lap(seconds[3], t);
    fit.loss.push_back(total);
    fit.mle.push_back(mle);
    fit.direction.push_back(dir);
    log().progress("dynamics: deepvelo training", e + 1, o.epochs);
  }
  fit.steps = o.epochs;
  if (o.epochs > 0)
    log().info(cat("dynamics: deepvelo: seconds per step on rank 0: forward ", seconds[0] / static_cast<double>(o.epochs), ", loss ",
                   seconds[1] / static_cast<double>(o.epochs), ", backward ", seconds[2] / static_cast<double>(o.epochs),
                   ", gradient all-reduce + Adam ", seconds[3] / static_cast<double>(o.epochs), " (", graph.halo.size(),
                   " halo cells of ", n, ")"));

  torch::NoGradGuard no_grad;
  const torch::Tensor y = forward(false, 0);
  const torch::Tensor beta = y.narrow(1, 0, G), gamma = y.narrow(1, G, G);
  fit.beta = flat_float(beta);
  fit.gamma = flat_float(gamma);
  fit.velocity = flat_float(beta * u + gamma * s);
  for (int64_t l = 0; l < L; ++l) {
    fit.weights.emplace_back(cat("conv", l, ".weight"), flat(weights[static_cast<size_t>(l)]));
    fit.weights.emplace_back(cat("conv", l, ".bias"), flat(biases[static_cast<size_t>(l)]));
  }
  return fit;
}

}  // namespace velofield::models
