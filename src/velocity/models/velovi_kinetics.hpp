#pragma once
// The pieces of VeloVI's likelihood that have closed forms (spec §3.2, §3.4), as small torch
// functions shared by the model and its tests: scVelo's switching kinetics, the four-state
// Gaussian mixture, the Dirichlet KL to the symmetric prior, and the Dirichlet draw as normalised
// gamma variates from per-cell generators.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace velofield::models::velovi {

constexpr double kRateEps = 1e-6;   // γ − β + ε in the kinetics denominators

struct Rates {
  torch::Tensor alpha, beta, gamma;   // [G]
};

// (u, s) at time t of induction from (0, 0).
inline std::pair<torch::Tensor, torch::Tensor> induction(const Rates& r, const torch::Tensor& t) {
  const torch::Tensor eb = torch::exp(-r.beta * t), eg = torch::exp(-r.gamma * t);
  return {r.alpha / r.beta * (1 - eb), r.alpha / r.gamma * (1 - eg) + r.alpha / (r.gamma - r.beta + kRateEps) * (eg - eb)};
}

// (u, s) a time t after the switch from (u0, s0), transcription off.
inline std::pair<torch::Tensor, torch::Tensor> repression(const torch::Tensor& u0, const torch::Tensor& s0, const Rates& r,
                                                          const torch::Tensor& t) {
  const torch::Tensor eb = torch::exp(-r.beta * t), eg = torch::exp(-r.gamma * t);
  return {u0 * eb, s0 * eg - r.beta * u0 / (r.gamma - r.beta + kRateEps) * (eg - eb)};
}

// log Σ_k π_k N(x; mean_k, sd_k²) over the last axis, with torch's Categorical(probs = π) logits
// (π clamped to [eps, 1 − eps], renormalised) and sd_k = (sd, sd, sd, 0.1·sd) per gene.
// x [B, G], mean [B, G, 4], sd [G], pi [B, G, 4] → [B, G].
inline torch::Tensor mixture_log_prob(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& sd,
                                      const torch::Tensor& pi) {
  const double feps = std::numeric_limits<float>::epsilon();
  const torch::Tensor log_pi = torch::log_softmax(torch::log(pi.clamp(feps, 1 - feps)), -1);
  const torch::Tensor sd4 = torch::stack({sd, sd, sd, 0.1 * sd}, -1);
  const torch::Tensor lp = -(x.unsqueeze(2) - mean).pow(2) / (2 * sd4.pow(2)) - torch::log(sd4) - 0.5 * std::log(2 * M_PI);
  return torch::logsumexp(lp + log_pi, -1);
}

// KL(Dir(a) ‖ Dir(b·1)) over the last axis (torch's closed form).
inline torch::Tensor dirichlet_kl(const torch::Tensor& a, double b) {
  const torch::Tensor sum_a = a.sum(-1);
  const double k = static_cast<double>(a.size(-1));
  return torch::lgamma(sum_a) - std::lgamma(k * b) - (torch::lgamma(a) - std::lgamma(b)).sum(-1) +
         ((a - b) * (torch::digamma(a) - torch::digamma(sum_a).unsqueeze(-1))).sum(-1);
}

// Gamma(a[i], 1) variates for each row i from its own generator (torch's _standard_gamma per row,
// so the draws are those of a per-row call), as one autograd node whose backward is torch's
// implicit reparameterisation gradient, grad · _standard_gamma_grad(a, sample), over the whole
// batch. The per-row calls on a[i] under autograd made one select node per row, whose backward
// materialised a zero tensor of the whole batch's size per row (B² · G · 4 values per step): the
// gradient is the same, since each row's contribution was added to zeros.
struct RowGamma : torch::autograd::Function<RowGamma> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, std::vector<at::Generator>* gens) {
    torch::Tensor out = torch::empty_like(a);
    for (size_t i = 0; i < gens->size(); ++i) {
      const int64_t r = static_cast<int64_t>(i);
      out[r].copy_(at::_standard_gamma(a[r], (*gens)[i]));
    }
    ctx->save_for_backward({a, out});
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {grads[0] * at::_standard_gamma_grad(saved[0], saved[1]), torch::Tensor()};
  }
};

// π ~ Dir(a[i]) for each row i from its own generator: gamma variates (RowGamma) kept at least the
// smallest normal float, as torch's Dirichlet sampler does, then normalised. a [B, G, 4].
inline torch::Tensor dirichlet_sample(const torch::Tensor& a, std::vector<at::Generator>& gens) {
  if (gens.empty()) return a * 0;   // keeps an empty batch's graph connected for the collective backward
  const torch::Tensor g = RowGamma::apply(a.contiguous(), &gens).clamp_min(FLT_MIN);
  return g / g.sum(-1, true);
}

}  // namespace velofield::models::velovi
