#pragma once
// The pieces of VeloVI's likelihood that have closed forms (spec §3.2, §3.4), as small torch
// functions shared by the model and its tests: scVelo's switching kinetics, the four-state
// Gaussian mixture, the Dirichlet KL to the symmetric prior, and the Dirichlet draw as normalised
// gamma variates from per-cell generators.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/native/Math.h>
#include <torch/torch.h>

#include <algorithm>
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

// torch's Categorical(probs = π) logits: π clamped to [eps, 1 − eps], renormalised in log space.
// u and s share π, so the model computes them once for both likelihoods.
inline torch::Tensor mixture_log_weights(const torch::Tensor& pi) {
  const double feps = std::numeric_limits<float>::epsilon();
  return torch::log_softmax(torch::log(pi.clamp(feps, 1 - feps)), -1);
}

// log Σ_k exp(log_pi_k) N(x; mean_k, sd_k²) over the last axis, sd_k = (sd, sd, sd, 0.1·sd) per
// gene, as one pass per cell and gene (float64 inside) with its hand-written backward: the torch
// composition (difference, square, divide, log, logsumexp and their backwards) made ~25 passes and
// temporaries of [B, G, 4] per likelihood, a large part of an epoch. Gradients: with w_k the
// component's posterior weight exp(lp_k − y), ∂y/∂mean_k = w_k (x − mean_k) / sd_k²,
// ∂y/∂log_pi_k = w_k, ∂y/∂sd = Σ_k c_k w_k ((x − mean_k)² / sd_k³ − 1 / sd_k) (c = 1, 1, 1, 0.1),
// ∂y/∂x = −Σ_k w_k (x − mean_k) / sd_k².
struct MixtureLogProb : torch::autograd::Function<MixtureLogProb> {
  static constexpr double kScale[4] = {1, 1, 1, 0.1};

  template <typename T>
  static void run(const T* x, const T* mean, const T* sd, const T* log_pi, T* y, const T* gy, T* gx, T* gmean, T* gsd,
                  T* glog_pi, int64_t B, int64_t G) {
    const double half_log_2pi = 0.5 * std::log(2 * M_PI);
    std::vector<double> gsd_acc(gsd ? static_cast<size_t>(G) : 0, 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t g = 0; g < G; ++g) {
        const int64_t i = b * G + g;
        double d[4], lp[4], sk[4], mx = -std::numeric_limits<double>::infinity();
        for (int k = 0; k < 4; ++k) {
          sk[k] = kScale[k] * static_cast<double>(sd[g]);
          d[k] = static_cast<double>(x[i]) - static_cast<double>(mean[4 * i + k]);
          lp[k] = -d[k] * d[k] / (2 * sk[k] * sk[k]) - std::log(sk[k]) - half_log_2pi + static_cast<double>(log_pi[4 * i + k]);
          mx = std::max(mx, lp[k]);
        }
        if (!gy) {   // forward
          double sum = 0;
          for (int k = 0; k < 4; ++k) sum += std::exp(lp[k] - mx);
          y[i] = static_cast<T>(std::isfinite(mx) ? mx + std::log(sum) : mx);
          continue;
        }
        const double out = static_cast<double>(y[i]), go = static_cast<double>(gy[i]);
        double gxi = 0, gsdi = 0;
        for (int k = 0; k < 4; ++k) {
          const double w = go * std::exp(lp[k] - out), dv = d[k] / (sk[k] * sk[k]);
          if (gmean) gmean[4 * i + k] = static_cast<T>(w * dv);
          if (glog_pi) glog_pi[4 * i + k] = static_cast<T>(w);
          gxi -= w * dv;
          gsdi += kScale[k] * w * (d[k] * dv / sk[k] - 1 / sk[k]);
        }
        if (gx) gx[i] = static_cast<T>(gxi);
        if (gsd) gsd_acc[static_cast<size_t>(g)] += gsdi;
      }
    if (gsd)
      for (int64_t g = 0; g < G; ++g) gsd[g] = static_cast<T>(gsd_acc[static_cast<size_t>(g)]);
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& mean,
                               const torch::Tensor& sd, const torch::Tensor& log_pi) {
    const torch::Tensor xc = x.contiguous(), mc = mean.contiguous(), sc = sd.contiguous(), lc = log_pi.contiguous();
    const int64_t B = xc.size(0), G = xc.size(1);
    TORCH_CHECK(mc.sizes() == torch::IntArrayRef({B, G, 4}) && lc.sizes() == mc.sizes() && sc.numel() == G,
                "mixture_log_prob: shapes must be x [B, G], mean and log_pi [B, G, 4], sd [G]");
    torch::Tensor y = torch::empty({B, G}, xc.options());
    AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "mixture_log_prob", [&] {
      run<scalar_t>(xc.data_ptr<scalar_t>(), mc.data_ptr<scalar_t>(), sc.data_ptr<scalar_t>(), lc.data_ptr<scalar_t>(),
                    y.data_ptr<scalar_t>(), nullptr, nullptr, nullptr, nullptr, nullptr, B, G);
    });
    ctx->save_for_backward({xc, mc, sc, lc, y});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const torch::Tensor &xc = v[0], &mc = v[1], &sc = v[2], &lc = v[3], &y = v[4];
    const torch::Tensor gy = grads[0].contiguous();
    const int64_t B = xc.size(0), G = xc.size(1);
    torch::Tensor gx, gmean, gsd, glog_pi;
    if (ctx->needs_input_grad(0)) gx = torch::empty_like(xc);
    if (ctx->needs_input_grad(1)) gmean = torch::empty_like(mc);
    if (ctx->needs_input_grad(2)) gsd = torch::empty_like(sc);
    if (ctx->needs_input_grad(3)) glog_pi = torch::empty_like(lc);
    AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "mixture_log_prob_backward", [&] {
      auto ptr = [](torch::Tensor& t) { return t.defined() ? t.data_ptr<scalar_t>() : nullptr; };
      run<scalar_t>(xc.data_ptr<scalar_t>(), mc.data_ptr<scalar_t>(), sc.data_ptr<scalar_t>(), lc.data_ptr<scalar_t>(),
                    y.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), ptr(gx), ptr(gmean), ptr(gsd), ptr(glog_pi), B, G);
    });
    return {gx, gmean, gsd.defined() ? gsd.view(sc.sizes()) : gsd, glog_pi};
  }
};

// x [B, G], mean [B, G, 4], sd [G], log_pi [B, G, 4] (mixture_log_weights) → [B, G].
inline torch::Tensor mixture_log_prob_of(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& sd,
                                         const torch::Tensor& log_pi) {
  return MixtureLogProb::apply(x, mean, sd, log_pi);
}
// The same from π [B, G, 4].
inline torch::Tensor mixture_log_prob(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& sd,
                                      const torch::Tensor& pi) {
  return mixture_log_prob_of(x, mean, sd, mixture_log_weights(pi));
}

// KL(Dir(a) ‖ Dir(b·1)) over the last axis (torch's closed form), one pass per row (float64 inside)
// with its hand-written backward: the torch composition's lgamma, digamma and their backwards
// (digamma again, trigamma) over [B, G, K] were a large part of an epoch. With S = Σ a_k,
// ∂KL/∂a_k = (a_k − b) ψ'(a_k) − ψ'(S) (S − K·b) (the ψ terms of lgamma's and digamma's parts cancel).
struct DirichletKl : torch::autograd::Function<DirichletKl> {
  template <typename T>
  static void run(const T* a, T* kl, const T* gy, T* ga, int64_t rows, int64_t K, double b) {
    const double constant = std::lgamma(static_cast<double>(K) * b) - static_cast<double>(K) * std::lgamma(b);
    for (int64_t r = 0; r < rows; ++r) {
      const T* ar = a + r * K;
      double S = 0;
      for (int64_t k = 0; k < K; ++k) S += static_cast<double>(ar[k]);
      if (!gy) {
        const double psi_s = ::calc_digamma(S);
        double v = std::lgamma(S) - constant;
        for (int64_t k = 0; k < K; ++k) {
          const double ak = static_cast<double>(ar[k]);
          v += -std::lgamma(ak) + (ak - b) * (::calc_digamma(ak) - psi_s);
        }
        kl[r] = static_cast<T>(v);
        continue;
      }
      const double g = static_cast<double>(gy[r]), common = ::trigamma(S) * (S - static_cast<double>(K) * b);
      for (int64_t k = 0; k < K; ++k) {
        const double ak = static_cast<double>(ar[k]);
        ga[r * K + k] = static_cast<T>(g * ((ak - b) * ::trigamma(ak) - common));
      }
    }
  }
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, double b) {
    const torch::Tensor ac = a.contiguous();
    const int64_t K = ac.size(-1), rows = K > 0 ? ac.numel() / K : 0;
    std::vector<int64_t> shape(ac.sizes().begin(), ac.sizes().end() - 1);
    torch::Tensor kl = torch::empty(shape, ac.options());
    AT_DISPATCH_FLOATING_TYPES(ac.scalar_type(), "dirichlet_kl", [&] {
      run<scalar_t>(ac.data_ptr<scalar_t>(), kl.data_ptr<scalar_t>(), nullptr, nullptr, rows, K, b);
    });
    ctx->save_for_backward({ac});
    ctx->saved_data["b"] = b;
    return kl;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const torch::Tensor ac = ctx->get_saved_variables()[0];
    const torch::Tensor gy = grads[0].contiguous();
    const int64_t K = ac.size(-1), rows = K > 0 ? ac.numel() / K : 0;
    torch::Tensor ga = torch::empty_like(ac);
    AT_DISPATCH_FLOATING_TYPES(ac.scalar_type(), "dirichlet_kl_backward", [&] {
      run<scalar_t>(ac.data_ptr<scalar_t>(), nullptr, gy.data_ptr<scalar_t>(), ga.data_ptr<scalar_t>(), rows, K,
                    ctx->saved_data["b"].toDouble());
    });
    return {ga, torch::Tensor()};
  }
};
inline torch::Tensor dirichlet_kl(const torch::Tensor& a, double b) { return DirichletKl::apply(a, b); }

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
