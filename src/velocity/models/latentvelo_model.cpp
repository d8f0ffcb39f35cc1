// LatentVelo in LibTorch: dynamo's AnnotVAE (linear decoders, GCN encoders, latent ODE) with its
// loss, trained chunk-parallel (see latentvelo_model.hpp), ReduceLROnPlateau on the per-epoch
// full-data validation, the best epoch reloaded, then the averaged stochastic inference passes.
// Every random draw comes from a generator keyed by (seed, purpose, step or sample, global cell), so
// a chunk gives the same numbers on whichever rank computes it. A chunk's rows are fetched from the
// ranks that own them just before it is computed (one collective fetch per step and per inference
// round; the evaluation's fixed chunks once, kept), so the data stay distributed.
#include "velocity/models/latentvelo_model.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/partition.hpp"
#include "data/row_exchange.hpp"
#include "velocity/models/data_parallel.hpp"
#include "velocity/models/global_batches.hpp"
#include "velocity/models/keyed_random.hpp"
#include "velocity/models/ode_dopri5.hpp"

namespace velofield::models {

namespace {

// Purposes of the keyed generators (the trainer's streams are 1..6).
constexpr uint64_t kTrainNoise = 0x4c01, kOutputNoise = 0x4c02, kChunkOrder = 0x4c03, kStepOrder = 0x4c04;
constexpr double kHalfLog2Pi = 0.91893853320467274178;

enum class Graph { train, eval, output };

// A GCN layer Â(XW) + b, W and b drawn U(±1/√out) as LatentVelo's GraphConvolution.
struct GraphConvImpl : torch::nn::Module {
  GraphConvImpl(int64_t in, int64_t out) {
    const double r = 1.0 / std::sqrt(static_cast<double>(out));
    weight = register_parameter("weight", torch::empty({in, out}).uniform_(-r, r));
    bias = register_parameter("bias", torch::empty({out}).uniform_(-r, r));
  }
  torch::Tensor forward(const torch::Tensor& adj, const torch::Tensor& x) { return adj.mm(x.mm(weight)) + bias; }
  torch::Tensor weight, bias;
};
TORCH_MODULE(GraphConv);

// The per-modality refinement: ELU → GC → ELU → GC → ELU → Linear (one ELU between the second GC
// and the Linear, as LatentVelo).
struct RefineImpl : torch::nn::Module {
  explicit RefineImpl(int64_t d) {
    gc1 = register_module("gc1", GraphConv(d, d));
    gc2 = register_module("gc2", GraphConv(d, d));
    out = register_module("out", torch::nn::Linear(d, d));
  }
  torch::Tensor forward(const torch::Tensor& adj, const torch::Tensor& x) {
    torch::Tensor h = torch::elu(gc1(adj, torch::elu(x)));
    h = torch::elu(gc2(adj, h));
    return out(h);
  }
  GraphConv gc1{nullptr}, gc2{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(Refine);

// The time and context encoders (combine = True): ELU → shared GC → ELU on z_s and on z_u, then one
// Linear on both.
struct CombineImpl : torch::nn::Module {
  CombineImpl(int64_t L, int64_t out_dim) {
    gc = register_module("gc", GraphConv(L, L));
    out = register_module("out", torch::nn::Linear(2 * L, out_dim));
  }
  torch::Tensor forward(const torch::Tensor& adj, const torch::Tensor& zs, const torch::Tensor& zu) {
    const torch::Tensor a = torch::elu(gc(adj, torch::elu(zs))), b = torch::elu(gc(adj, torch::elu(zu)));
    return out(torch::cat({a, b}, 1));
  }
  GraphConv gc{nullptr};
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(Combine);

torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ELU(), torch::nn::Linear(hidden, out));
}

// The velocity field's layers start at N(0, 0.01²) weights and zero biases.
void small_init(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().zero_();
    else p.value().normal_(0, 0.01);
  }
}

struct Pass {
  torch::Tensor loss;                        // mean over the chunk's loss cells (training only)
  torch::Tensor val_ae, val_traj;            // per cell [B], detached
  torch::Tensor z_s, velocity_s, velocity_u, latent_s, latent_u, time;   // inference
  int64_t loss_cells = 0, forced_steps = 0;
};

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t genes, int64_t types, const LatentveloOptions& o)
      : G(genes), C(types), L(o.latent_dim), R(o.zr_dim), H(o.h_dim) {
    enc_s = register_module("encoder_s", mlp(G, o.encoder_hidden, 2 * L));
    enc_u = register_module("encoder_u", mlp(G, o.encoder_hidden, 2 * L));
    refine_s = register_module("refine_s", Refine(2 * L));
    refine_u = register_module("refine_u", Refine(2 * L));
    time_enc = register_module("time_encoder", Combine(L, 2));
    ctx_enc = register_module("context_encoder", Combine(L, 2 * H));
    prior_enc = register_module("prior_encoder", mlp(2 * L + C, 4 * L, 4 * L));
    prior_dec = register_module("prior_decoder", mlp(2 * L + C, 4 * L, 4 * L));
    dec_s = register_module("decoder_s", torch::nn::Linear(L, G));
    dec_u = register_module("decoder_u", torch::nn::Linear(L, G));
    theta_g = register_parameter("theta_gene", torch::empty({G}).uniform_(-1 / std::sqrt(double(G)), 1 / std::sqrt(double(G))));
    theta_z = register_parameter("theta_latent", torch::empty({L}).uniform_(-1 / std::sqrt(double(L)), 1 / std::sqrt(double(L))));
    f_s = register_module("drift_s", torch::nn::Linear(2 * L, L));
    f_u = register_module("drift_u", mlp(L + R, L + 5, L));
    f_r = register_module("drift_r", mlp(L + R + H, L + 5, R));
    small_init(*f_s);
    small_init(*f_u);
    small_init(*f_r);
    root = register_parameter("root", torch::empty({2 * L}).uniform_(-1, 1));   // Linear(1, 2L)'s bias at input 0
  }

  int64_t D() const { return 2 * L + R + H; }

  // dh/dt of the latent state h = [z_s, z_u, z_r, c].
  torch::Tensor drift(const torch::Tensor& h) {
    const torch::Tensor zs = h.slice(1, 0, L), zu = h.slice(1, L, 2 * L), zr = h.slice(1, 2 * L, 2 * L + R),
                        c = h.slice(1, 2 * L + R, D());
    return torch::cat({f_s(torch::cat({zs, zu}, 1)), f_u->forward(torch::cat({zu, zr}, 1)),
                       f_r->forward(torch::cat({zs, zr, c}, 1)), torch::zeros_like(c)},
                      1);
  }

  int64_t G, C, L, R, H;
  torch::nn::Sequential enc_s{nullptr}, enc_u{nullptr}, prior_enc{nullptr}, prior_dec{nullptr}, f_u{nullptr}, f_r{nullptr};
  Refine refine_s{nullptr}, refine_u{nullptr};
  Combine time_enc{nullptr}, ctx_enc{nullptr};
  torch::nn::Linear dec_s{nullptr}, dec_u{nullptr}, f_s{nullptr};
  torch::Tensor theta_g, theta_z, root;
};
TORCH_MODULE(Net);

// Σ over the last dimension of −log N(x; mean, sd).
torch::Tensor neg_log_normal(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& sd) {
  return ((x - mean).pow(2) / (2 * sd.pow(2)) + torch::log(sd) + kHalfLog2Pi);
}

// KL(N(m1, e^{lv1}) ‖ N(m2, e^{lv2})) summed over the last dimension.
torch::Tensor kl_normal(const torch::Tensor& m1, const torch::Tensor& lv1, const torch::Tensor& m2, const torch::Tensor& lv2) {
  return (0.5 * (lv2 - lv1 + (torch::exp(lv1) + (m1 - m2).pow(2)) / torch::exp(lv2) - 1)).sum(-1);
}

// Pearson correlation per column over the rows where mask is 1, with LatentVelo's 1e-8 guards.
torch::Tensor masked_pearson(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& mask) {
  const torch::Tensor n = mask.sum(0) + 1e-8;
  const torch::Tensor dx = (x - (x * mask).sum(0) / n) * mask, dy = (y - (y * mask).sum(0) / n) * mask;
  return (dx * dy).sum(0) / (torch::sqrt((dx * dx).sum(0)) * torch::sqrt((dy * dy).sum(0)) + 1e-8);
}

// The rows of some cells (sorted, unique global indices) fetched from their owners: what the forward
// passes of the chunks made of these cells read.
struct Rows {
  std::vector<int64_t> cells;
  torch::Tensor s, u, mask;                 // [cells × genes], the model's dtype
  std::vector<int32_t> type;
  std::vector<int64_t> adj_indptr, adj_indices;   // graph rows of `cells`, global columns
  std::vector<double> adj_weights;
  int64_t row(int64_t cell) const {
    return static_cast<int64_t>(std::lower_bound(cells.begin(), cells.end(), cell) - cells.begin());
  }
};

class Model {
 public:
  Model(MPI_Comm comm, const LatentveloInput& in, const LatentveloOptions& o)
      : comm_(comm), in_(in), o_(o), dtype_(o.double_precision ? torch::kDouble : torch::kFloat),
        pos_(static_cast<size_t>(in.n_cells), -1) {
    int ranks = 1;
    MPI_Comm_size(comm, &ranks);
    cells_ = BlockPartition{in.n_cells, ranks};
    int64_t degree = 0;
    for (size_t i = 0; i + 1 < in.adj_indptr.size(); ++i) degree = std::max(degree, in.adj_indptr[i + 1] - in.adj_indptr[i]);
    MPI_Allreduce(&degree, &max_degree_, 1, MPI_INT64_T, MPI_MAX, comm);
    torch::manual_seed(o.seed);
    net = Net(in.n_genes, in.n_types, o);
    net->to(dtype_);
    std::vector<int64_t> vg;
    for (int64_t g = 0; g < in.n_genes; ++g)
      if (in.velocity_genes[static_cast<size_t>(g)]) vg.push_back(g);
    vgenes_ = torch::tensor(vg, torch::kLong);
  }

  // Collective: the rows of `needed` (sorted, unique global cells; may be empty) from their owners.
  // Each row travels as one float row [s, u, mask, cell type] and one double row [degree, columns,
  // weights] padded to the largest degree: both exact copies of the owner's values.
  Rows fetch(std::vector<int64_t> needed) {
    const auto t0 = std::chrono::steady_clock::now();
    fetched_rows += static_cast<int64_t>(needed.size());
    const int64_t G = in_.n_genes, K = max_degree_, n = static_cast<int64_t>(needed.size());
    const std::vector<float> data = fetch_rows(comm_, cells_, needed, 3 * G + 1, [&](int64_t r, float* out) {
      std::copy_n(in_.s.data() + r * G, G, out);
      std::copy_n(in_.u.data() + r * G, G, out + G);
      for (int64_t j = 0; j < G; ++j) out[2 * G + j] = in_.mask[static_cast<size_t>(r * G + j)];
      out[3 * G] = in_.n_types > 0 ? static_cast<float>(in_.celltype[static_cast<size_t>(r)]) : 0.0f;
    });
    const std::vector<double> graph = fetch_rows(comm_, cells_, needed, 1 + 2 * K, [&](int64_t r, double* out) {
      const int64_t b = in_.adj_indptr[static_cast<size_t>(r)], e = in_.adj_indptr[static_cast<size_t>(r) + 1];
      std::fill_n(out, 1 + 2 * K, 0.0);
      out[0] = static_cast<double>(e - b);
      for (int64_t k = b; k < e; ++k) {
        out[1 + k - b] = static_cast<double>(in_.adj_indices[static_cast<size_t>(k)]);
        out[1 + K + k - b] = in_.adj_weights[static_cast<size_t>(k)];
      }
    });
    Rows rows;
    rows.cells = std::move(needed);
    const torch::Tensor all = n == 0 ? torch::zeros({0, 3 * G + 1}, torch::kFloat)
                                     : torch::from_blob(const_cast<float*>(data.data()), {n, 3 * G + 1}, torch::kFloat);
    rows.s = all.slice(1, 0, G).to(dtype_).clone();
    rows.u = all.slice(1, G, 2 * G).to(dtype_).clone();
    rows.mask = all.slice(1, 2 * G, 3 * G).to(dtype_).clone();
    rows.adj_indptr.assign(1, 0);
    for (int64_t i = 0; i < n; ++i) {
      rows.type.push_back(static_cast<int32_t>(data[static_cast<size_t>(i * (3 * G + 1) + 3 * G)]));
      const double* g = graph.data() + i * (1 + 2 * K);
      const int64_t deg = static_cast<int64_t>(g[0]);
      for (int64_t k = 0; k < deg; ++k) {
        rows.adj_indices.push_back(static_cast<int64_t>(g[1 + k]));
        rows.adj_weights.push_back(g[1 + K + k]);
      }
      rows.adj_indptr.push_back(static_cast<int64_t>(rows.adj_indices.size()));
    }
    fetch_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rows;
  }

  // Row-normalised dense adjacency of the chunk: the training operator D⁻¹(0.9·A + I), the
  // evaluation one D⁻¹A and the output one D⁻¹(0.9·A + I) (LatentVelo's in-place quirks, §4.1.7).
  torch::Tensor adjacency(const std::vector<int64_t>& cells, const Rows& rows, Graph g) {
    const int64_t B = static_cast<int64_t>(cells.size());
    for (int64_t i = 0; i < B; ++i) pos_[static_cast<size_t>(cells[static_cast<size_t>(i)])] = i;
    std::vector<double> a(static_cast<size_t>(B * B), 0.0);
    const double scale = g == Graph::eval ? 1.0 : 0.9;
    for (int64_t i = 0; i < B; ++i) {
      const size_t r = static_cast<size_t>(rows.row(cells[static_cast<size_t>(i)]));
      for (int64_t k = rows.adj_indptr[r]; k < rows.adj_indptr[r + 1]; ++k) {
        const int64_t j = pos_[static_cast<size_t>(rows.adj_indices[static_cast<size_t>(k)])];
        if (j >= 0) a[static_cast<size_t>(i * B + j)] += scale * rows.adj_weights[static_cast<size_t>(k)];
      }
      if (g != Graph::eval) a[static_cast<size_t>(i * B + i)] += 1.0;
      double deg = 0;
      for (int64_t j = 0; j < B; ++j) deg += a[static_cast<size_t>(i * B + j)];
      if (deg > 0)
        for (int64_t j = 0; j < B; ++j) a[static_cast<size_t>(i * B + j)] /= deg;
    }
    for (int64_t c : cells) pos_[static_cast<size_t>(c)] = -1;
    return torch::tensor(a, torch::kDouble).reshape({B, B}).to(dtype_);
  }

  // Standard normals per cell: [z_s, z_u (2L), ũ (2L), t (1)]; zero when not sampling.
  torch::Tensor noise(const std::vector<int64_t>& cells, uint64_t purpose, uint64_t key, bool sample) {
    const int64_t L = o_.latent_dim, W = 4 * L + 1, B = static_cast<int64_t>(cells.size());
    std::vector<double> e(static_cast<size_t>(B * W), 0.0);
    if (sample)
      for (int64_t i = 0; i < B; ++i) {
        KeyedStream ks(key_hash(o_.seed, purpose, key, static_cast<uint64_t>(cells[static_cast<size_t>(i)])));
        for (int64_t k = 0; k < W; ++k) e[static_cast<size_t>(i * W + k)] = ks.normal();
      }
    return torch::tensor(e, torch::kDouble).reshape({B, W}).to(dtype_);
  }

  // One chunk's forward pass. n_train: the first n_train cells are trained on (the rest held out).
  // `rows` holds (at least) the chunk's cells.
  Pass forward(const std::vector<int64_t>& cells, const Rows& rows, int64_t n_train, Graph graph, uint64_t purpose,
               uint64_t key, bool sample, double kl_weight, bool inference) {
    const int64_t L = o_.latent_dim, B = static_cast<int64_t>(cells.size());
    std::vector<int64_t> at;
    for (int64_t c : cells) at.push_back(rows.row(c));
    const torch::Tensor idx = torch::tensor(at, torch::kLong);
    const torch::Tensor s = rows.s.index_select(0, idx), u = rows.u.index_select(0, idx);
    const torch::Tensor adj = adjacency(cells, rows, graph);
    const torch::Tensor eps = noise(cells, purpose, key, sample);
    const torch::Tensor qs = net->refine_s(adj, net->enc_s->forward(s)), qu = net->refine_u(adj, net->enc_u->forward(u));
    const torch::Tensor mu_s = qs.slice(1, 0, L), lv_s = qs.slice(1, L, 2 * L);
    const torch::Tensor mu_u = qu.slice(1, 0, L), lv_u = qu.slice(1, L, 2 * L);
    const torch::Tensor zs = mu_s + eps.slice(1, 0, L) * torch::exp(0.5 * lv_s);
    const torch::Tensor zu = mu_u + eps.slice(1, L, 2 * L) * torch::exp(0.5 * lv_u);
    const torch::Tensor tq = net->time_enc(adj, zs, zu);
    const torch::Tensor m_t = tq.select(1, 0), lv_t = tq.select(1, 1);
    const torch::Tensor t = torch::sigmoid(m_t + eps.select(1, 4 * L) * torch::exp(0.5 * lv_t));
    const torch::Tensor c = net->ctx_enc(adj, zs, zu).slice(1, 0, o_.h_dim);

    // The ODE over the chunk's sorted distinct times, from the shared root (§4.2). A cell whose time
    // equals another's (keep the last in batch order) or is not above 0 leaves the loss.
    const torch::Tensor t_cpu = t.detach().to(torch::kDouble).contiguous();
    const double* tv = t_cpu.data_ptr<double>();
    std::vector<int64_t> order(static_cast<size_t>(B));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return tv[a] < tv[b]; });
    std::vector<double> grid{0.0};
    std::vector<int64_t> slot(static_cast<size_t>(B), 0);
    std::vector<uint8_t> kept(static_cast<size_t>(B), 0);
    for (size_t r = 0; r < order.size(); ++r) {
      const int64_t i = order[r];
      if (tv[i] > grid.back()) grid.push_back(tv[i]);
      slot[static_cast<size_t>(i)] = tv[i] > 0 ? static_cast<int64_t>(grid.size()) - 1 : 0;
      // stable sort: the last of equal times in batch order comes last
      kept[static_cast<size_t>(i)] = tv[i] > 0 && (r + 1 == order.size() || tv[order[r + 1]] != tv[i]);
    }
    const torch::Tensor h0 =
        torch::cat({net->root.unsqueeze(0).expand({B, 2 * L}), torch::zeros({B, o_.zr_dim}, c.options()), c}, 1);
    Dopri5Options ode;
    ode.rtol = o_.rtol;
    ode.atol = o_.atol;
    ode.max_steps = o_.ode_max_steps;
    const Dopri5Result sol = dopri5_solve([&](double, const torch::Tensor& h) { return net->drift(h); }, h0, grid, ode);
    Pass p;
    p.forced_steps = sol.forced_steps;
    torch::Tensor traj = sol.states.index({torch::tensor(slot, torch::kLong), torch::arange(B)});
    // The solution's derivative with respect to its end time is the drift there: this carries the
    // gradient to the time encoder that torchdiffeq's differentiable output times give.
    traj = traj + (t - t.detach()).unsqueeze(1) * net->drift(traj.detach());
    const torch::Tensor hs = traj.slice(1, 0, L), hu = traj.slice(1, L, 2 * L);
    const torch::Tensor W_s = net->dec_s->weight;

    if (inference) {
      const torch::Tensor v = net->drift(torch::cat({zs, zu, traj.slice(1, 2 * L, 2 * L + o_.zr_dim), c}, 1));
      p.z_s = zs;
      p.latent_s = v.slice(1, 0, L);
      p.latent_u = v.slice(1, L, 2 * L);
      p.velocity_s = p.latent_s.mm(W_s.t());
      p.velocity_u = p.latent_u.mm(net->dec_u->weight.t());
      p.time = t;
      return p;
    }

    const torch::Tensor s_ae = net->dec_s(zs), u_ae = net->dec_u(zu), s_tr = net->dec_s(hs), u_tr = net->dec_u(hu);
    // The weights' mask is 1[s > 0 or u > 0] on the normalised counts (not on the moments), and the
    // batch scalar is the mean of the normed moments over the mask's entries (spec §4.1.3, §4.3).
    const torch::Tensor mask = rows.mask.index_select(0, idx);
    const torch::Tensor nm = mask.sum().clamp_min(1);
    const torch::Tensor w_s = (s * mask).sum() / nm * mask, w_u = (u * mask).sum() / nm * mask;
    {
      torch::NoGradGuard no_grad;
      p.val_ae = (w_s * (s_ae - s).pow(2) + w_u * (u_ae - u).pow(2)).sum(1).detach();
      p.val_traj = (w_s * (s_tr - s).pow(2) + w_u * (u_tr - u).pow(2)).sum(1).detach();
    }
    if (n_train == 0) return p;
    const torch::Tensor sd = 1e-4 + torch::softplus(net->theta_g);
    const torch::Tensor sd_z = (1e-4 + torch::softplus(net->theta_z)).repeat({2});
    const torch::Tensor z = torch::cat({zs, zu}, 1);
    torch::Tensor cell = (w_s * neg_log_normal(s, s_ae, sd) + w_u * neg_log_normal(u, u_ae, sd)).sum(1) +
                         neg_log_normal(z, torch::cat({hs, hu}, 1), sd_z).sum(1) +
                         (w_s * neg_log_normal(s, s_tr, sd) + w_u * neg_log_normal(u, u_tr, sd)).sum(1);
    // The annotated prior: q(ũ | z, type), p(z | ũ, type), plus the time logit's KL.
    torch::Tensor onehot = torch::zeros({B, in_.n_types}, z.options());
    if (in_.n_types > 0) {
      std::vector<int64_t> types;
      for (int64_t r : at) types.push_back(rows.type[static_cast<size_t>(r)]);
      onehot = torch::one_hot(torch::tensor(types, torch::kLong), in_.n_types).to(dtype_);
    }
    const torch::Tensor qut = net->prior_enc->forward(torch::cat({z, onehot}, 1));
    const torch::Tensor m_ut = qut.slice(1, 0, 2 * L), lv_ut = qut.slice(1, 2 * L, 4 * L);
    const torch::Tensor ut = m_ut + eps.slice(1, 2 * L, 4 * L) * torch::exp(0.5 * lv_ut);
    const torch::Tensor pz = net->prior_dec->forward(torch::cat({ut, onehot}, 1));
    const torch::Tensor kl = kl_normal(torch::cat({mu_s, mu_u}, 1), torch::cat({lv_s, lv_u}, 1), pz.slice(1, 0, 2 * L),
                                       pz.slice(1, 2 * L, 4 * L)) +
                             kl_normal(m_ut, lv_ut, torch::zeros_like(m_ut), torch::zeros_like(lv_ut)) +
                             0.1 * kl_normal(m_t.unsqueeze(1), lv_t.unsqueeze(1), torch::zeros({B, 1}, z.options()),
                                             torch::zeros({B, 1}, z.options()));
    cell = cell + kl_weight * kl;
    // The correlation regulariser over the chunk, on the velocity genes: the linear decoder's JVP
    // along the spliced drift at the trajectory and at the data latent.
    if (vgenes_.numel() > 0) {
      const torch::Tensor gv_tr = net->f_s(torch::cat({hs, hu}, 1)).mm(W_s.t()).index_select(1, vgenes_);
      const torch::Tensor gv_ae = net->f_s(z).mm(W_s.t()).index_select(1, vgenes_);
      auto g = [&](const torch::Tensor& x) { return x.index_select(1, vgenes_); };
      const torch::Tensor mu_mask = g((u > 0).to(dtype_)), ms_mask = g((s > 0).to(dtype_));
      const torch::Tensor corr_u = masked_pearson(gv_tr, g(u_tr), mu_mask) + masked_pearson(gv_ae, g(u_ae), mu_mask) +
                                   masked_pearson(gv_tr, g(u), mu_mask) + masked_pearson(gv_ae, g(u), mu_mask);
      const torch::Tensor corr_s = masked_pearson(gv_tr, -g(s_tr), ms_mask) + masked_pearson(gv_ae, -g(s_ae), ms_mask) +
                                   masked_pearson(gv_tr, -g(s), ms_mask) + masked_pearson(gv_ae, -g(s), ms_mask);
      cell = cell - o_.corr_weight_u * corr_u.mean() - o_.corr_weight_s * corr_s.mean();
    }
    std::vector<int64_t> loss_cells;
    for (int64_t i = 0; i < n_train; ++i)
      if (kept[static_cast<size_t>(i)]) loss_cells.push_back(i);
    p.loss_cells = static_cast<int64_t>(loss_cells.size());
    p.loss = loss_cells.empty() ? cell.sum() * 0 : cell.index_select(0, torch::tensor(loss_cells, torch::kLong)).mean();
    return p;
  }

  NamedTensors state() {
    NamedTensors out;
    for (const auto& q : net->named_parameters()) out.emplace_back(q.key(), q.value());
    return out;
  }

  Net net{nullptr};
  double fetch_seconds = 0;   // wall time in fetch(), for the log
  int64_t fetched_rows = 0;

 private:
  MPI_Comm comm_;
  const LatentveloInput& in_;
  const LatentveloOptions& o_;
  torch::Dtype dtype_;
  torch::Tensor vgenes_;
  BlockPartition cells_;
  int64_t max_degree_ = 0;
  std::vector<int64_t> pos_;   // chunk position of a global cell while adjacency() runs, else −1
};

// torch.optim.lr_scheduler.ReduceLROnPlateau(mode min, factor 0.75, threshold 0.05 rel, patience 5,
// min_lr 1e-5), as LatentVelo configures it.
struct Plateau {
  double best = std::numeric_limits<double>::infinity();
  int64_t bad = 0;
  // The new learning rate after an epoch whose metric is `value`.
  double step(double value, double lr) {
    if (value < best * (1 - 0.05)) {
      best = value;
      bad = 0;
    } else if (++bad > 5) {
      bad = 0;
      return std::max(lr * 0.75, 1e-5);
    }
    return lr;
  }
};

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> out;
  for (const auto& t : ts) out.push_back(t.detach().clone());
  return out;
}

}  // namespace

LatentveloFit fit_latentvelo(MPI_Comm comm, const LatentveloInput& in, const LatentveloOptions& o) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  if (in.n_cells < 2) fail(o.source, "obs", cat("latentvelo: ", in.n_cells, " cells: need at least 2"));
  const BlockPartition part{in.n_cells, ranks};
  const int64_t n_rows = in.end - in.begin;
  agree(comm,
        in.begin == part.begin(rank) && in.end == part.end(rank) &&
            static_cast<int64_t>(in.s.size()) == n_rows * in.n_genes && in.u.size() == in.s.size() && in.mask.size() == in.s.size() &&
            static_cast<int64_t>(in.adj_indptr.size()) == n_rows + 1 &&
            (in.n_types == 0 || static_cast<int64_t>(in.celltype.size()) == n_rows),
        "internal: latentvelo: the input rows are not this rank's block of the cells");
  Model model(comm, in, o);
  std::vector<torch::Tensor> params = model.net->parameters();
  int64_t n_params = 0;
  for (const auto& q : params) n_params += q.numel();
  broadcast_tensors(model.state(), comm);

  // The fixed chunks: one global permutation of the cells, cut into batch_size-cell pieces.
  std::vector<int64_t> all(static_cast<size_t>(in.n_cells));
  std::iota(all.begin(), all.end(), 0);
  const std::vector<std::vector<int64_t>> chunks = epoch_batches(all, o.batch_size, key_hash(o.seed, kChunkOrder, 0), 0);
  const int64_t n_chunks = static_cast<int64_t>(chunks.size());
  auto n_train = [&](const std::vector<int64_t>& ch) {
    const int64_t n = static_cast<int64_t>(ch.size());
    return n - static_cast<int64_t>(std::floor(o.test_fraction * static_cast<double>(n)));
  };

  AdamOptions adam_options;
  adam_options.lr = o.learning_rate;
  auto adam = std::make_unique<Adam>(params, adam_options);
  Plateau plateau;
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_state = copies(params);
  LatentveloFit fit;
  int64_t forced = 0;
  bool stop = false;
  // The evaluation's chunks (j on rank j mod P) are the same every epoch: their rows are fetched
  // once and kept (about N/P cells, as many as the rank's own block).
  Rows eval_rows;
  {
    std::vector<int64_t> needed;
    for (int64_t j = rank; j < n_chunks; j += ranks) needed.insert(needed.end(), chunks[static_cast<size_t>(j)].begin(), chunks[static_cast<size_t>(j)].end());
    std::sort(needed.begin(), needed.end());
    eval_rows = model.fetch(std::move(needed));
  }
  for (int64_t epoch = 0; epoch < o.epochs && !stop; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double kl_weight = std::min(1.0, static_cast<double>(epoch) / static_cast<double>(o.kl_warmup_epochs));
    // This epoch's chunk order: a sort by a hash of (seed, epoch, chunk), the same at any rank count.
    std::vector<int64_t> order(static_cast<size_t>(n_chunks));
    std::iota(order.begin(), order.end(), 0);
    std::vector<uint64_t> keys(order.size());
    for (size_t k = 0; k < order.size(); ++k) keys[k] = key_hash(o.seed, kStepOrder, static_cast<uint64_t>(epoch), k);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[static_cast<size_t>(a)] < keys[static_cast<size_t>(b)]; });
    for (int64_t first = 0; first < n_chunks; first += o.chunks_per_step) {
      if (o.max_steps >= 0 && fit.steps >= o.max_steps) {
        stop = true;
        break;
      }
      const int64_t k = std::min(o.chunks_per_step, n_chunks - first);
      // Each chunk's gradient goes to its own slot; the slots are all-reduced (one nonzero
      // contribution each: exact) and summed in chunk order, so the step's gradient is bitwise the
      // same at any rank count, in float32 too.
      torch::Tensor slots = torch::zeros({k, n_params}, torch::TensorOptions().dtype(params[0].scalar_type()));
      auto chunk_at = [&](int64_t j) -> const std::vector<int64_t>& {
        return chunks[static_cast<size_t>(order[static_cast<size_t>(first + j)])];
      };
      std::vector<int64_t> needed;
      for (int64_t j = rank; j < k; j += ranks) needed.insert(needed.end(), chunk_at(j).begin(), chunk_at(j).end());
      std::sort(needed.begin(), needed.end());
      const Rows rows = model.fetch(std::move(needed));
      for (int64_t j = rank; j < k; j += ranks) {
        adam->zero_grad();
        const std::vector<int64_t>& ch = chunk_at(j);
        const Pass p = model.forward(ch, rows, n_train(ch), Graph::train, kTrainNoise, static_cast<uint64_t>(fit.steps), true,
                                     kl_weight, false);
        forced += p.forced_steps;
        (p.loss / static_cast<double>(k)).backward();
        std::vector<torch::Tensor> flat;
        for (const auto& q : params) flat.push_back(q.grad().defined() ? q.grad().reshape({-1}) : torch::zeros({q.numel()}, q.options()));
        slots[j].copy_(torch::cat(flat));
      }
      MPI_Allreduce(MPI_IN_PLACE, slots.data_ptr(), static_cast<int>(slots.numel()),
                    slots.scalar_type() == torch::kDouble ? MPI_DOUBLE : MPI_FLOAT, MPI_SUM, comm);
      {
        torch::NoGradGuard no_grad;
        torch::Tensor total = slots[0].clone();
        for (int64_t j = 1; j < k; ++j) total += slots[j];
        int64_t offset = 0;
        for (auto& q : params) {
          const torch::Tensor g = total.slice(0, offset, offset + q.numel()).view_as(q).clone();
          offset += q.numel();
          if (q.grad().defined()) q.mutable_grad().copy_(g);
          else q.mutable_grad() = g;
        }
      }
      if (o.grad_clip > 0) clip_gradient_norm(params, o.grad_clip);
      adam->step();
      ++fit.steps;
    }
    // The full-data evaluation (eval operator, no sampling), chunk j on rank j mod P.
    double sums[2] = {0, 0};
    {
      torch::NoGradGuard no_grad;
      for (int64_t j = rank; j < n_chunks; j += ranks) {
        const Pass p = model.forward(chunks[static_cast<size_t>(j)], eval_rows, 0, Graph::eval, 0, 0, false, 0, false);
        sums[0] += p.val_ae.sum().item<double>();
        sums[1] += p.val_traj.sum().item<double>();
        forced += p.forced_steps;
      }
    }
    MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm);
    int64_t evaluated = 0;
    for (const auto& ch : chunks) evaluated += static_cast<int64_t>(ch.size());
    fit.val_ae.push_back(sums[0] / static_cast<double>(evaluated));
    fit.val_traj.push_back(sums[1] / static_cast<double>(evaluated));
    const double metric = fit.val_ae.back() + fit.val_traj.back();
    if (metric < best) {
      best = metric;
      best_state = copies(params);
      fit.best_epoch = epoch;
    }
    double lr = adam_options.lr;
    const double new_lr = plateau.step(metric, lr);
    if (new_lr != lr) {   // a new optimizer with the same moments: Adam's state carries over
      adam_options.lr = new_lr;
      auto next = std::make_unique<Adam>(params, adam_options);
      const NamedTensors from = adam->state(), to = next->state();
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < from.size(); ++i) to[i].second.copy_(from[i].second);
      next->set_steps(adam->steps());
      adam = std::move(next);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log().info(cat("dynamics: latentvelo: epoch ", epoch + 1, "/", o.epochs, " val_ae ", fit.val_ae.back(), " val_traj ",
                   fit.val_traj.back(), " lr ", adam_options.lr, " (", seconds, " s)"));
  }
  // The metric is all-reduced, so every rank takes this branch together.
  if (fit.best_epoch < 0 && !fit.val_ae.empty())
    fail(o.source, "latentvelo_learning_rate",
         "latentvelo: val_ae + val_traj was never finite: the training diverged (try a lower learning rate)");
  {   // the best epoch's weights (LatentVelo reloads its checkpoint; identical on every rank)
    torch::NoGradGuard no_grad;
    if (fit.best_epoch >= 0)
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
  }
  fit.forced_ode_steps = static_cast<int64_t>(global_sum(static_cast<double>(forced), comm));
  {   // what keeping the data distributed costs: the chunk rows fetched by the training and evaluation
    double fetch[2] = {model.fetch_seconds, static_cast<double>(model.fetched_rows)};
    MPI_Allreduce(MPI_IN_PLACE, fetch, 2, MPI_DOUBLE, MPI_MAX, comm);
    log().info(cat("dynamics: latentvelo: chunk rows fetched (max over ranks): ", static_cast<int64_t>(fetch[1]), " rows, ",
                   fetch[1] * static_cast<double>(3 * in.n_genes + 1) * 4 / 1048576, " MiB, ", fetch[0], " s"));
  }
  for (const auto& [name, t] : model.state()) {
    const torch::Tensor d = t.detach().to(torch::kDouble).contiguous();
    fit.weights.emplace_back(name, std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel()));
  }
  if (!o.posterior) return fit;

  // Inference: inference_samples stochastic passes over original-order chunks (edges across chunk
  // boundaries dropped, as LatentVelo), averaged. A rank computes the chunks that hold its rows,
  // fetching the rows of a chunk that crosses into a neighbour's block; one fetch per round on
  // every rank (the ranks hold different numbers of chunks).
  const int64_t L = o.latent_dim, G = in.n_genes, rows = n_rows;
  fit.velocity_s.assign(static_cast<size_t>(rows * G), 0);
  fit.velocity_u.assign(fit.velocity_s.size(), 0);
  fit.z_s.assign(static_cast<size_t>(rows * L), 0);
  fit.latent_velocity_s.assign(fit.z_s.size(), 0);
  fit.latent_velocity_u.assign(fit.z_s.size(), 0);
  fit.latent_time.assign(static_cast<size_t>(rows), 0);
  torch::NoGradGuard no_grad;
  const double w = 1.0 / static_cast<double>(o.inference_samples);
  const int64_t chunk = o.inference_chunk, c_first = (in.begin / chunk) * chunk;
  const int64_t my_rounds = in.end > in.begin ? (in.end - 1) / chunk - in.begin / chunk + 1 : 0;
  int64_t n_rounds = 0;
  MPI_Allreduce(&my_rounds, &n_rounds, 1, MPI_INT64_T, MPI_MAX, comm);
  for (int64_t round = 0; round < n_rounds; ++round) {
    const int64_t c0 = c_first + round * chunk;
    std::vector<int64_t> cells;
    if (round < my_rounds)
      for (int64_t c = c0; c < std::min(c0 + chunk, in.n_cells); ++c) cells.push_back(c);
    const Rows fetched = model.fetch(cells);
    if (cells.empty()) continue;
    for (int64_t k = 0; k < o.inference_samples; ++k) {
      const Pass p = model.forward(cells, fetched, 0, Graph::output, kOutputNoise, static_cast<uint64_t>(k), true, 0, true);
      auto add = [&](std::vector<double>& dst, const torch::Tensor& src, int64_t width) {
        const torch::Tensor d = src.to(torch::kDouble).contiguous().reshape({-1, width});
        const double* v = d.data_ptr<double>();
        for (size_t i = 0; i < cells.size(); ++i) {
          const int64_t r = cells[i] - in.begin;
          if (r < 0 || r >= rows) continue;
          for (int64_t j = 0; j < width; ++j) dst[static_cast<size_t>(r * width + j)] += w * v[static_cast<int64_t>(i) * width + j];
        }
      };
      add(fit.velocity_s, p.velocity_s, G);
      add(fit.velocity_u, p.velocity_u, G);
      add(fit.z_s, p.z_s, L);
      add(fit.latent_velocity_s, p.latent_s, L);
      add(fit.latent_velocity_u, p.latent_u, L);
      add(fit.latent_time, p.time, 1);
    }
    log().progress("dynamics: latentvelo inference", std::min(c0 + chunk, in.end) - in.begin, rows);
  }
  return fit;
}

}  // namespace velofield::models
