// VeloVI in LibTorch: the VAE of velovi 0.4.0's VELOVAE with scvi-tools' layers, its ELBO, the
// data-parallel training through trainer.hpp, and the posterior summaries dynamo's extvelo exports.
// Every random draw (encoder dropout, the latent noise, the Dirichlet's gamma variates) comes from a
// generator keyed by (seed, purpose, step or epoch, global cell), so a cell's draws are the same
// whichever rank owns it: with the trainer's rank-independent batches and SyncBatchNorm, a run at P
// ranks applies the updates of a one-process run.
#include "velocity/models/velovi_model.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "velocity/models/keyed_random.hpp"
#include "velocity/models/trainer.hpp"
#include "velocity/models/velovi_kinetics.hpp"

namespace velofield::models {

namespace {

using velovi::induction;
using velovi::Rates;
using velovi::repression;

constexpr double kTMax = 20;            // VELOVAE.t_max
constexpr double kPenaltyScale = 0.2;   // VELOVAE.penalty_scale
constexpr double kDirichletPrior = 0.25;
// Purposes of the keyed generators (the trainer's streams are 1..6).
constexpr uint64_t kTrainNoise = static_cast<uint64_t>(Stream::noise);
constexpr uint64_t kValidationNoise = 0x7601, kVelocityNoise = 0x7602, kTimeNoise = 0x7603, kUncertaintyNoise = 0x7604;

// scvi-tools' FCLayers block with VELOVAE's settings: Linear → BatchNorm1d(eps 1e-3, momentum 0.01)
// → LayerNorm without affine → ReLU (dropout is applied by the caller, from keyed masks).
struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t in, int64_t out, MPI_Comm comm) : width(out) {
    linear = register_module("linear", torch::nn::Linear(in, out));
    bn = register_module("bn", SyncBatchNorm(out, 1e-3, 0.01, comm));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(torch::layer_norm(bn(linear(x)), {width})); }
  int64_t width;
  torch::nn::Linear linear{nullptr};
  SyncBatchNorm bn{nullptr};
};
TORCH_MODULE(Block);

// Rows of per-cell tensors; an empty batch (a rank owning none of it) gives a [0, width] tensor.
torch::Tensor stack_rows(const std::vector<torch::Tensor>& rows, int64_t width, torch::Dtype dtype) {
  return rows.empty() ? torch::empty({0, width}, dtype) : torch::stack(rows);
}

std::vector<at::Generator> generators(uint64_t seed, uint64_t purpose, uint64_t key, const std::vector<int64_t>& cells) {
  std::vector<at::Generator> g;
  g.reserve(cells.size());
  for (int64_t c : cells) g.push_back(at::detail::createCPUGenerator(key_hash(seed, purpose, key, static_cast<uint64_t>(c))));
  return g;
}

struct Decoded {
  torch::Tensor concentration, pi, rho, tau;   // [B, G, 4], [B, G, 4], [B, G], [B, G]
};

struct Terms {
  torch::Tensor recon, kl_z, kl_pi;   // per cell [B]
};

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t genes, const VeloviOptions& o, const std::vector<double>& u_up, const std::vector<double>& s_up,
          MPI_Comm comm)
      : G(genes), L(o.n_latent), H(o.n_hidden), dtype(o.double_precision ? torch::kDouble : torch::kFloat) {
    encoder = register_module("encoder", Block(2 * G, H, comm));
    mean_head = register_module("mean_head", torch::nn::Linear(H, L));
    var_head = register_module("var_head", torch::nn::Linear(H, L));
    rho_block = register_module("rho_block", Block(L, H, comm));
    rho_head = register_module("rho_head", torch::nn::Linear(H, G));
    tau_head = register_module("tau_head", torch::nn::Linear(H, G));
    pi_block = register_module("pi_block", Block(L, H, comm));
    pi_head = register_module("pi_head", torch::nn::Linear(H, 4 * G));
    const torch::Tensor up = torch::tensor(u_up, torch::kDouble);
    // softplus(α̃) = u_up (velovi's _softplus_inverse; NaN → 0 as there; u_up = 0 gives −inf, α = 0).
    torch::Tensor a0 = torch::where(up > 20, up, torch::log(torch::expm1(up)));
    a0 = torch::where(torch::isnan(a0), torch::zeros_like(a0), a0);
    alpha_unconstr = register_parameter("alpha_unconstr", a0.to(torch::kFloat));
    beta_unconstr = register_parameter("beta_mean_unconstr", torch::full({G}, 0.5));
    gamma_unconstr = register_parameter("gamma_mean_unconstr", torch::full({G}, -1.0));
    switch_unconstr = register_parameter("switch_time_unconstr", 7 + 0.5 * torch::randn({G}));
    scale_unconstr = register_parameter("scale_unconstr", torch::full({2 * G, 4}, -1.0));
    switch_u = register_buffer("switch_unspliced", up.to(torch::kFloat));
    switch_s = register_buffer("switch_spliced", torch::tensor(s_up, torch::kDouble).to(torch::kFloat));
    to(dtype);   // every parameter and buffer (handles above stay valid: Module::to converts in place)
  }

  Rates rates() const {
    return {torch::clamp(torch::softplus(alpha_unconstr), 0, 50), torch::clamp(torch::softplus(beta_unconstr), 0, 50),
            torch::clamp(torch::softplus(gamma_unconstr), 0, 50)};
  }
  // The likelihood and end penalty use the switch time clamped to [0, t_max]; the outputs do not.
  torch::Tensor switch_time(bool clamped) const {
    const torch::Tensor t = torch::softplus(switch_unconstr);
    return clamped ? torch::clamp(t, 0, kTMax) : t;
  }

  // q(z | s, u): mean and variance (scvi's Encoder: softplus variance + 1e-4).
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x, const torch::Tensor& dropout_mask) {
    torch::Tensor h = encoder(x);
    if (dropout_mask.defined()) h = h * dropout_mask;
    return {mean_head(h), torch::softplus(var_head(h)) + 1e-4};
  }

  // Decoder at z, then π ~ Dir(a) per cell as normalised gamma variates (the reparameterised
  // gradient is torch's implicit one of _standard_gamma), from the cells' own generators.
  Decoded decode(const torch::Tensor& z, std::vector<at::Generator>& gens) {
    Decoded d;
    const torch::Tensor hr = rho_block(z);
    d.rho = torch::sigmoid(rho_head(hr));
    d.tau = torch::sigmoid(tau_head(hr));
    d.concentration = torch::softplus(pi_head(pi_block(z))).reshape({z.size(0), G, 4});
    d.pi = velovi::dirichlet_sample(d.concentration, gens);
    return d;
  }

  torch::Tensor latent_noise(std::vector<at::Generator>& gens) {
    std::vector<torch::Tensor> rows;
    for (auto& g : gens) rows.push_back(torch::randn({L}, g, dtype));
    return stack_rows(rows, L, dtype);
  }

  // The ELBO's per-cell terms (VELOVAE.loss).
  Terms terms(const torch::Tensor& s, const torch::Tensor& u, const torch::Tensor& qm, const torch::Tensor& qv,
              const Decoded& d) {
    const Rates r = rates();
    const torch::Tensor ts = switch_time(true);
    const auto [u_ind, s_ind] = induction(r, ts * d.rho);
    const torch::Tensor u_ss = (r.alpha / r.beta).expand_as(u_ind), s_ss = (r.alpha / r.gamma).expand_as(s_ind);
    const auto [u0, s0] = induction(r, ts);
    const auto [u_rep, s_rep] = repression(u0, s0, r, (kTMax - ts) * d.tau);
    const torch::Tensor zero = torch::zeros_like(u_ind);
    const torch::Tensor sd_u = torch::softplus(scale_unconstr.slice(0, 0, G).select(1, 0)).sqrt();
    const torch::Tensor sd_s = torch::softplus(scale_unconstr.slice(0, G, 2 * G).select(1, 0)).sqrt();
    const torch::Tensor log_pi = velovi::mixture_log_weights(d.pi);   // u and s share π
    const torch::Tensor lp_u = velovi::mixture_log_prob_of(u, torch::stack({u_ind, u_ss, u_rep, zero}, 2), sd_u, log_pi);
    const torch::Tensor lp_s = velovi::mixture_log_prob_of(s, torch::stack({s_ind, s_ss, s_rep, zero}, 2), sd_s, log_pi);
    Terms t;
    t.recon = -(lp_u.sum(1) + lp_s.sum(1));
    const torch::Tensor var = torch::sqrt(qv).pow(2);   // Normal(m, sqrt(v)): torch squares the scale back
    t.kl_z = (0.5 * (var + qm.pow(2) - 1 - torch::log(var))).sum(1);
    t.kl_pi = velovi::dirichlet_kl(d.concentration, kDirichletPrior).sum(1);
    return t;
  }

  torch::Tensor end_penalty() {
    const auto [u0, s0] = induction(rates(), switch_time(true));
    return (u0 - switch_u).pow(2).sum() + (s0 - switch_s).pow(2).sum();
  }

  int64_t G, L, H;
  torch::Dtype dtype;
  Block encoder{nullptr}, rho_block{nullptr}, pi_block{nullptr};
  torch::nn::Linear mean_head{nullptr}, var_head{nullptr}, rho_head{nullptr}, tau_head{nullptr}, pi_head{nullptr};
  torch::Tensor alpha_unconstr, beta_unconstr, gamma_unconstr, switch_unconstr, scale_unconstr, switch_u, switch_s;
};
TORCH_MODULE(Net);

class VeloviTrainable : public TrainableModel {
 public:
  VeloviTrainable(Net net, torch::Tensor s, torch::Tensor u, int64_t begin, const VeloviOptions& o)
      : net_(std::move(net)), s_(std::move(s)), u_(std::move(u)), begin_(begin), o_(o) {}

  std::vector<torch::Tensor> trainable() override { return net_->parameters(); }
  NamedTensors state() override {
    NamedTensors out;
    for (const auto& p : net_->named_parameters()) out.emplace_back(p.key(), p.value());
    for (const auto& b : net_->named_buffers()) out.emplace_back(b.key(), b.value());
    return out;
  }
  void set_training(bool on) override { net_->train(on); }

  torch::Tensor cells_loss(const std::vector<int64_t>& cells, const StepContext& ctx) override {
    const Terms t = pass(cells, kTrainNoise, static_cast<uint64_t>(ctx.step), net_->is_training());
    return (t.recon + kl_weight(ctx.epoch) * t.kl_z + t.kl_pi).sum();
  }
  // scvi-tools' elbo_validation: the unweighted ELBO (the end penalty left out).
  torch::Tensor validation_loss(const std::vector<int64_t>& cells, const StepContext& ctx) override {
    const Terms t = pass(cells, kValidationNoise, static_cast<uint64_t>(ctx.epoch), false);
    return (t.recon + t.kl_z + t.kl_pi).sum();
  }
  torch::Tensor global_loss(const StepContext& ctx) override {
    return kPenaltyScale * (1 - kl_weight(ctx.epoch)) * net_->end_penalty();
  }

  torch::Tensor rows(const torch::Tensor& m, const std::vector<int64_t>& cells) const {
    std::vector<int64_t> local(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) local[i] = cells[i] - begin_;
    return m.index_select(0, torch::tensor(local, torch::kLong));
  }

 private:
  // scvi-tools' warm-up: weight epoch / n_epochs_kl_warmup (0-based epoch), at most 1.
  double kl_weight(int64_t epoch) const {
    return o_.kl_warmup_epochs > 0 ? std::min(1.0, static_cast<double>(epoch) / static_cast<double>(o_.kl_warmup_epochs)) : 1.0;
  }

  Terms pass(const std::vector<int64_t>& cells, uint64_t purpose, uint64_t key, bool dropout) {
    std::vector<at::Generator> gens = generators(o_.seed, purpose, key, cells);
    const torch::Tensor s = rows(s_, cells), u = rows(u_, cells);
    torch::Tensor mask;
    if (dropout && o_.dropout > 0) {
      std::vector<torch::Tensor> m;
      for (auto& g : gens) m.push_back((torch::rand({net_->H}, g, net_->dtype) >= o_.dropout).to(net_->dtype) / (1 - o_.dropout));
      mask = stack_rows(m, net_->H, net_->dtype);
    }
    const auto [qm, qv] = net_->encode(torch::cat({s, u}, 1), mask);
    const torch::Tensor z = qm + torch::sqrt(qv) * net_->latent_noise(gens);
    const Decoded d = net_->decode(z, gens);
    return net_->terms(s, u, qm, qv, d);
  }

  Net net_;
  torch::Tensor s_, u_;
  int64_t begin_;
  VeloviOptions o_;
};

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor d = t.detach().to(torch::kDouble).contiguous().reshape({-1});
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// velovi's _cosine_sim over genes of each sample [K, B, G] with its cell's mean [B, G], in float64,
// NaN for a zero vector (as numpy's 0/0) → [K, B] contiguous. Whole-tensor ops: one call per
// (sample, cell) pair cost ~10 tiny tensor ops each, seconds per run on pancreas.
torch::Tensor cosines(const torch::Tensor& samples, const torch::Tensor& mean) {
  const torch::Tensor a = samples.to(torch::kDouble), b = mean.to(torch::kDouble);
  const torch::Tensor ab = (a * b.unsqueeze(0)).sum(-1);
  return (ab / (a.norm(2, -1) * b.norm(2, -1).unsqueeze(0))).contiguous();
}

}  // namespace

VeloviFit fit_velovi(MPI_Comm comm, const VeloviInput& in, const VeloviOptions& o) {
  const int64_t G = in.n_genes, n_local = in.end - in.begin;
  if (G < 1 || n_local < 0 || static_cast<int64_t>(in.s.size()) != n_local * G ||
      static_cast<int64_t>(in.u.size()) != n_local * G || static_cast<int64_t>(in.u_up.size()) != G ||
      static_cast<int64_t>(in.s_up.size()) != G)
    throw Error(o.source + ": velovi: inconsistent input sizes (internal error)");
  // Initial weights: PyTorch's defaults from the seed; the trainer then broadcasts rank 0's.
  torch::manual_seed(o.seed);
  Net net(G, o, in.u_up, in.s_up, comm);
  const torch::Tensor S = torch::from_blob(const_cast<float*>(in.s.data()), {n_local, G}, torch::kFloat).to(net->dtype);
  const torch::Tensor U = torch::from_blob(const_cast<float*>(in.u.data()), {n_local, G}, torch::kFloat).to(net->dtype);
  VeloviTrainable model(net, S, U, in.begin, o);

  TrainerOptions to;
  to.name = "velovi";
  to.seed = o.seed;
  to.max_epochs = o.max_epochs;
  to.batch_size = o.batch_size;
  to.train_fraction = o.train_fraction;
  to.patience = o.patience;
  to.grad_clip = o.grad_clip;
  to.adam = {o.learning_rate, 0.9, 0.999, o.adam_eps, o.weight_decay, true};   // scvi-tools' AdamW
  to.checkpoint = o.checkpoint;
  to.stop_after_epochs = o.stop_after_epochs;
  to.max_steps = o.max_steps;
  to.source = o.source;
  const TrainResult r = train_data_parallel(model, comm, in.n_cells, in.begin, in.end, to);

  VeloviFit fit;
  for (const auto& e : r.history) {
    fit.epoch_loss.push_back(e.loss);
    fit.epoch_validation.push_back(e.validation);
  }
  fit.steps = r.steps;
  fit.early_stopped = r.early_stopped;
  fit.finished = r.finished;
  fit.resumed_at_epoch = r.resumed_at_epoch;
  for (const auto& [name, t] : model.state()) fit.weights.emplace_back(name, to_vector(t));
  if (!r.finished || !o.posterior) return fit;

  // Posterior summaries (velovi's get_velocity / get_latent_time / get_directional_uncertainty):
  // eval mode, z and π sampled, the switch time unclamped as velovi's output code computes it.
  torch::NoGradGuard no_grad;
  net->eval();
  const Rates rates = net->rates();
  const torch::Tensor ts = net->switch_time(false);
  // References, not structured bindings: the lambdas below capture them, which C++17 allows
  // only for plain variables (clang rejects a captured binding; GCC accepts it as an extension).
  const auto induced = induction(rates, ts);
  const torch::Tensor &u0 = induced.first, &s0 = induced.second;
  fit.alpha = to_vector(rates.alpha);
  fit.beta = to_vector(rates.beta);
  fit.gamma = to_vector(rates.gamma);
  fit.switch_time = to_vector(ts);
  fit.velocity.assign(static_cast<size_t>(n_local * G), 0);
  fit.latent_time.assign(fit.velocity.size(), 0);
  if (o.uncertainty_samples > 0) fit.uncertainty.assign(static_cast<size_t>(n_local), 0);
  std::vector<double> max_time(static_cast<size_t>(G), -std::numeric_limits<double>::infinity());
  constexpr int64_t kChunk = 128;
  for (int64_t c0 = 0; c0 < n_local; c0 += kChunk) {
    std::vector<int64_t> cells;
    for (int64_t i = c0; i < std::min(n_local, c0 + kChunk); ++i) cells.push_back(in.begin + i);
    const int64_t B = static_cast<int64_t>(cells.size());
    const torch::Tensor s = model.rows(S, cells), u = model.rows(U, cells);
    const auto posterior = net->encode(torch::cat({s, u}, 1), {});
    const torch::Tensor &qm = posterior.first, &qv = posterior.second;
    auto sample = [&](std::vector<at::Generator>& gens) {
      return net->decode(qm + torch::sqrt(qv) * net->latent_noise(gens), gens);
    };
    auto velocity_of = [&](const Decoded& d) {
      const auto [ui, si] = induction(rates, ts * d.rho);
      const auto [ur, sr] = repression(u0, s0, rates, (kTMax - ts) * d.tau);
      return d.pi.select(2, 0) * (rates.beta * ui - rates.gamma * si) + d.pi.select(2, 2) * (rates.beta * ur - rates.gamma * sr);
    };
    std::vector<at::Generator> gv = generators(o.seed, kVelocityNoise, 0, cells), gt = generators(o.seed, kTimeNoise, 0, cells);
    torch::Tensor vsum = torch::zeros({B, G}, net->dtype), tsum = torch::zeros({B, G}, net->dtype);
    for (int64_t k = 0; k < o.n_samples; ++k) vsum += velocity_of(sample(gv));
    for (int64_t k = 0; k < o.n_samples; ++k) {
      const Decoded d = sample(gt);
      tsum += d.pi.select(2, 0) * d.rho * ts + d.pi.select(2, 2) * (ts + d.tau * (kTMax - ts)) + d.pi.select(2, 1) * ts;
    }
    // The mean, then clipped at −s (velovi's clip = True on the min-max-scaled spliced values).
    const torch::Tensor v = torch::max(vsum / static_cast<double>(o.n_samples), -s);
    const torch::Tensor t = tsum / static_cast<double>(o.n_samples);
    const std::vector<double> vv = to_vector(v), tv = to_vector(t);
    std::copy(vv.begin(), vv.end(), fit.velocity.begin() + c0 * G);
    std::copy(tv.begin(), tv.end(), fit.latent_time.begin() + c0 * G);
    if (B > 0) {
      const std::vector<double> tmax = to_vector(std::get<0>(t.max(0)));
      for (int64_t g = 0; g < G; ++g) max_time[static_cast<size_t>(g)] = std::max(max_time[static_cast<size_t>(g)], tmax[static_cast<size_t>(g)]);
    }
    if (o.uncertainty_samples > 0) {
      // Each sample clipped at −s as velovi's get_velocity(return_mean=False) does, then the
      // variance over samples of each cell's cosine to its mean sample ("intrinsic" uncertainty).
      std::vector<at::Generator> gu = generators(o.seed, kUncertaintyNoise, 0, cells);
      std::vector<torch::Tensor> samples;
      for (int64_t k = 0; k < o.uncertainty_samples; ++k) samples.push_back(torch::max(velocity_of(sample(gu)), -s));
      const torch::Tensor all = torch::stack(samples);   // [K, B, G]
      const torch::Tensor cosine = cosines(all, all.mean(0));
      const double* cs = cosine.data_ptr<double>();
      const int64_t K = o.uncertainty_samples;
      for (int64_t i = 0; i < B; ++i) {
        double m = 0, var = 0;
        for (int64_t k = 0; k < K; ++k) m += cs[k * B + i];
        m /= static_cast<double>(K);
        for (int64_t k = 0; k < K; ++k) var += (cs[k * B + i] - m) * (cs[k * B + i] - m);
        fit.uncertainty[static_cast<size_t>(c0 + i)] = var / static_cast<double>(K);   // np.var
      }
    }
    log().progress("dynamics: velovi posterior (rank 0's cells)", std::min(n_local, c0 + kChunk), n_local);
  }
  MPI_Allreduce(MPI_IN_PLACE, max_time.data(), static_cast<int>(G), MPI_DOUBLE, MPI_MAX, comm);
  fit.max_time = std::move(max_time);
  return fit;
}

}  // namespace velofield::models
