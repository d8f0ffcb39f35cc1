// cellDancer's networks in LibTorch. Genes are trained in stacks: the weights of Gb genes are
// [Gb, out, in] tensors and every layer is one batched matrix product, so the per-step cost is a
// handful of kernels for many genes instead of per-gene dispatch. Each gene's subsample is padded to
// the stack's largest and masked; Adam is elementwise, so a stacked Adam with a per-gene "active"
// mask is exactly one Adam per gene with its own early stopping.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "velocity/models/celldancer_network.hpp"
#include "velocity/models/celldancer_sampling.hpp"
#include "velocity/models/keyed_random.hpp"

namespace velofield::models {

namespace {

constexpr int64_t H = kCellDancerHidden;

torch::Tensor tensor_of(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}
std::vector<float> vector_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The stacked parameters of a group of genes, [Gb, ...] each.
struct Stack {
  std::vector<torch::Tensor> p;   // w1 [Gb,H,2], b1 [Gb,H], w2 [Gb,H,H], b2, w3 [Gb,3,H], b3 [Gb,3]

  // x [Gb, n, 2] → factors [Gb, n, 3] (beta, gamma, alpha order, in (0, 1)).
  torch::Tensor forward(const torch::Tensor& x) const {
    torch::Tensor h = torch::leaky_relu(torch::baddbmm(p[1].unsqueeze(1), x, p[0].transpose(1, 2)), 0.01);
    h = torch::leaky_relu(torch::baddbmm(p[3].unsqueeze(1), h, p[2].transpose(1, 2)), 0.01);
    return torch::sigmoid(torch::baddbmm(p[5].unsqueeze(1), h, p[4].transpose(1, 2)));
  }
};

Stack stack_of(const std::vector<const CellDancerNet*>& nets) {
  auto gather = [&](auto member, std::vector<int64_t> shape) {
    std::vector<torch::Tensor> parts;
    for (const CellDancerNet* n : nets) parts.push_back(tensor_of(n->*member, shape));
    return torch::stack(parts);
  };
  Stack s;
  s.p = {gather(&CellDancerNet::l1_weight, {H, 2}), gather(&CellDancerNet::l1_bias, {H}),
         gather(&CellDancerNet::l2_weight, {H, H}), gather(&CellDancerNet::l2_bias, {H}),
         gather(&CellDancerNet::l3_weight, {3, H}), gather(&CellDancerNet::l3_bias, {3})};
  for (auto& t : s.p) t.set_requires_grad(true);
  return s;
}

CellDancerNet net_of(const Stack& s, int64_t g) {
  return {vector_of(s.p[0][g]), vector_of(s.p[1][g]), vector_of(s.p[2][g]),
          vector_of(s.p[3][g]), vector_of(s.p[4][g]), vector_of(s.p[5][g])};
}

// One epoch's padded inputs for the genes of a stack.
struct EpochBatch {
  torch::Tensor raw, norm, mask;   // [Gb, n, 2], [Gb, n, 2], [Gb, n]
  std::vector<int64_t> count;      // points per gene
};

}  // namespace

// Trains one stack of genes (indices into `genes`) to the end of every gene's early stopping.
void train_celldancer_stack(const std::vector<GeneFitData>& genes, const CellDancerStack& stack, const CellDancerNet& circle,
                            const CellDancerNet& branch, const CellDancerOptions& o, std::vector<GeneModel>& out) {
  const std::vector<size_t>& members = stack.members;
  const int64_t gb = static_cast<int64_t>(members.size());
  std::vector<const CellDancerNet*> init;
  std::vector<double> alpha0(static_cast<size_t>(gb)), gamma0(static_cast<size_t>(gb));
  for (int64_t k = 0; k < gb; ++k) {
    const GeneFitData& g = genes[members[static_cast<size_t>(k)]];
    // The choice draws its own subsample (epoch key 0), separate from the training epochs' draws.
    KeyedStream rng(key_hash(o.seed, static_cast<uint64_t>(Stream::subsample), static_cast<uint64_t>(g.gene), 0));
    const std::vector<int64_t> pick = subsample(static_cast<int64_t>(g.points.size() / 2), o.permutation_ratio, rng);
    std::vector<double> pts;
    for (int64_t i : pick) {
      pts.push_back(g.points[static_cast<size_t>(2 * i)]);
      pts.push_back(g.points[static_cast<size_t>(2 * i + 1)]);
    }
    const bool is_circle = choose_circle(pts, rng);
    out[members[static_cast<size_t>(k)]].circle = is_circle;
    init.push_back(is_circle ? &circle : &branch);
    alpha0[static_cast<size_t>(k)] = 2 * g.umax;
    gamma0[static_cast<size_t>(k)] = g.umax / g.smax;
  }
  Stack s = stack_of(init);
  const torch::Tensor a0 = torch::tensor(alpha0).to(torch::kFloat).view({gb, 1});
  const torch::Tensor g0 = torch::tensor(gamma0).to(torch::kFloat).view({gb, 1});
  std::vector<torch::Tensor> m, v;
  for (const auto& t : s.p) {
    m.push_back(torch::zeros_like(t));
    v.push_back(torch::zeros_like(t));
  }
  std::vector<uint8_t> active(static_cast<size_t>(gb), 1);
  std::vector<int64_t> k_nn(static_cast<size_t>(gb), o.n_neighbors), wait(static_cast<size_t>(gb), 0);
  std::vector<double> smooth(static_cast<size_t>(gb), 0), best(static_cast<size_t>(gb), INFINITY);

  for (int64_t epoch = 0; epoch < o.max_epochs; ++epoch) {
    if (std::none_of(active.begin(), active.end(), [](uint8_t a) { return a; })) break;
    // This epoch's subsample of each gene, padded to the largest.
    std::vector<std::vector<int64_t>> picks(static_cast<size_t>(gb));
    int64_t n = 2;
    for (int64_t k = 0; k < gb; ++k) {
      const GeneFitData& g = genes[members[static_cast<size_t>(k)]];
      KeyedStream rng(key_hash(o.seed, static_cast<uint64_t>(Stream::subsample), static_cast<uint64_t>(g.gene),
                               static_cast<uint64_t>(epoch + 1)));
      picks[static_cast<size_t>(k)] = subsample(static_cast<int64_t>(g.points.size() / 2), o.permutation_ratio, rng);
      n = std::max<int64_t>(n, static_cast<int64_t>(picks[static_cast<size_t>(k)].size()));
    }
    torch::Tensor raw = torch::zeros({gb, n, 2}), mask = torch::zeros({gb, n});
    torch::Tensor norm = torch::zeros({gb, n, 2});
    auto raw_a = raw.accessor<float, 3>(), norm_a = norm.accessor<float, 3>();
    auto mask_a = mask.accessor<float, 2>();
    std::vector<int64_t> count(static_cast<size_t>(gb));
    for (int64_t k = 0; k < gb; ++k) {
      const GeneFitData& g = genes[members[static_cast<size_t>(k)]];
      const auto& pick = picks[static_cast<size_t>(k)];
      count[static_cast<size_t>(k)] = static_cast<int64_t>(pick.size());
      for (size_t i = 0; i < pick.size(); ++i) {
        const double u = g.points[static_cast<size_t>(2 * pick[i])], sv = g.points[static_cast<size_t>(2 * pick[i] + 1)];
        raw_a[k][static_cast<int64_t>(i)][0] = static_cast<float>(u);
        raw_a[k][static_cast<int64_t>(i)][1] = static_cast<float>(sv);
        norm_a[k][static_cast<int64_t>(i)][0] = static_cast<float>(u / g.umax);
        norm_a[k][static_cast<int64_t>(i)][1] = static_cast<float>(sv / g.smax);
        mask_a[k][static_cast<int64_t>(i)] = 1;
      }
      // cellDancer stores k back on the module: once a small subsample lowers it, it stays lowered.
      k_nn[static_cast<size_t>(k)] = std::min<int64_t>(k_nn[static_cast<size_t>(k)], count[static_cast<size_t>(k)] - 1);
    }
    // Neighbours in the raw rounded (u, s) plane; padding is infinitely far, the cell itself first.
    const int64_t kmax = std::min<int64_t>(n, o.n_neighbors);
    torch::Tensor nbr, nbr_valid;
    {
      torch::NoGradGuard no_grad;
      // Rounded points sit on a 1 % grid, so equal distances are common: computed in float64 without
      // the matrix-product shortcut and tie-broken by subsample position (a keyed, rank-independent
      // order), the neighbour sets do not depend on the padding of the stack.
      const torch::Tensor r64 = raw.to(torch::kDouble);
      torch::Tensor d = torch::cdist(r64, r64, 2.0, 2);   // 2: never use the matrix-product form
      const double span = std::max(1e-300, d.max().item<double>());
      d = d + torch::arange(n, torch::kDouble).view({1, 1, n}) * (span * 1e-12);
      d = d.masked_fill(mask.unsqueeze(1) == 0, INFINITY);
      d = d - torch::eye(n, torch::kDouble).unsqueeze(0) * (4 * span);   // the cell itself first
      const auto top = d.topk(kmax, -1, false, true);
      nbr = std::get<1>(top);
      const torch::Tensor col = torch::arange(kmax).view({1, 1, kmax});
      const torch::Tensor kk = torch::tensor(k_nn).view({gb, 1, 1});
      nbr_valid = (col >= 1) & (col < kk) & torch::isfinite(std::get<0>(top));
    }
    // Forward, one Euler step, predicted displacement vs neighbour displacements.
    const torch::Tensor f = s.forward(norm);
    const torch::Tensor u = norm.select(2, 0), sp = norm.select(2, 1);
    const torch::Tensor beta = f.select(2, 0), gamma = f.select(2, 1) * g0, alpha = f.select(2, 2) * a0;
    const torch::Tensor du = (alpha - beta * u) * o.dt, ds = (beta * u - gamma * sp) * o.dt;
    const torch::Tensor p = torch::stack({du, ds}, 2);                                        // [Gb, n, 2]
    const torch::Tensor nb = torch::gather(norm.unsqueeze(1).expand({gb, n, n, 2}), 2,
                                           nbr.unsqueeze(3).expand({gb, n, kmax, 2}));        // [Gb, n, K, 2]
    const torch::Tensor disp = nb - norm.unsqueeze(2);
    const torch::Tensor num = (disp * p.unsqueeze(2)).sum(3);
    const torch::Tensor den = disp.norm(2, 3) * p.norm(2, 2).unsqueeze(2);
    torch::Tensor cos = torch::where(den == 0, torch::ones_like(num), num / torch::where(den == 0, torch::ones_like(den), den));
    cos = cos.masked_fill(nbr_valid.logical_not(), -2.0);
    const torch::Tensor best_cos = std::get<0>(cos.max(2));                                   // [Gb, n]
    const torch::Tensor counts = torch::tensor(count).to(torch::kFloat).clamp_min(1);
    const torch::Tensor gene_loss = ((1 - best_cos) * mask).sum(1) / counts;                   // [Gb]
    for (auto& t : s.p) t.mutable_grad() = torch::Tensor();
    gene_loss.sum().backward();
    {
      // Adam with coupled L2, per gene; frozen genes keep their weights and moments.
      torch::NoGradGuard no_grad;
      const double t = static_cast<double>(epoch + 1);
      const double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.999, t);
      std::vector<float> act(active.begin(), active.end());
      const torch::Tensor on = torch::tensor(act);
      for (size_t i = 0; i < s.p.size(); ++i) {
        std::vector<int64_t> shape(static_cast<size_t>(s.p[i].dim()), 1);
        shape[0] = gb;
        const torch::Tensor a = on.view(shape);
        const torch::Tensor g = s.p[i].grad() + o.weight_decay * s.p[i];
        m[i] = torch::where(a > 0, 0.9 * m[i] + 0.1 * g, m[i]);
        v[i] = torch::where(a > 0, 0.999 * v[i] + 0.001 * g * g, v[i]);
        s.p[i].sub_(a * (o.learning_rate / bc1) * m[i] / (v[i].sqrt() / std::sqrt(bc2) + 1e-8));
      }
    }
    // Per-gene early stopping on the smoothed loss, checked every check_every epochs.
    const std::vector<float> cost = vector_of(gene_loss);
    for (int64_t k = 0; k < gb; ++k) {
      const size_t kk = static_cast<size_t>(k);
      if (!active[kk]) continue;
      smooth[kk] = epoch == 0 ? cost[kk] : 0.9 * cost[kk] + 0.1 * smooth[kk];
      GeneModel& gm = out[members[kk]];
      gm.epochs = epoch + 1;
      gm.loss = cost[kk];
      if ((epoch + 1) % o.check_every == 0) {
        if (smooth[kk] < best[kk]) {
          best[kk] = smooth[kk];
          wait[kk] = 0;
        } else if (++wait[kk] >= o.patience) {
          active[kk] = 0;
        }
      }
    }
  }
  for (int64_t k = 0; k < gb; ++k) {
    GeneModel& gm = out[members[static_cast<size_t>(k)]];
    gm.net = net_of(s, k);
    gm.trained = true;
  }
}

std::vector<CellDancerStack> plan_celldancer_stacks(const std::vector<GeneFitData>& genes, const CellDancerOptions& o) {
  // Stacks of genes with similar point counts (little padding), bounded by Σ n² of their distance
  // matrices and by stack_genes. A gene with fewer than 2 points has no neighbour to fit.
  std::vector<size_t> order;
  for (size_t i = 0; i < genes.size(); ++i)
    if (genes[i].points.size() >= 4 && genes[i].umax > 0 && genes[i].smax > 0) order.push_back(i);
  auto size_of = [&](size_t i) {
    return std::max<int64_t>(2, std::llround(o.permutation_ratio * static_cast<double>(genes[i].points.size() / 2)));
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size_of(a) > size_of(b); });
  std::vector<CellDancerStack> plan;
  CellDancerStack stack;
  for (size_t idx = 0; idx < order.size(); ++idx) {
    stack.members.push_back(order[idx]);
    const int64_t n = size_of(stack.members.front()), gb = static_cast<int64_t>(stack.members.size());
    const bool full = (gb + 1) * n * n > o.batch_elements || gb >= o.stack_genes;
    if (full || idx + 1 == order.size()) {
      stack.cost = static_cast<double>(gb) * static_cast<double>(n) * static_cast<double>(n + H);
      plan.push_back(std::move(stack));
      stack = CellDancerStack{};
    }
  }
  // Most expensive first: a queue handing stacks out in this order balances like longest-first.
  std::stable_sort(plan.begin(), plan.end(), [](const CellDancerStack& a, const CellDancerStack& b) { return a.cost > b.cost; });
  return plan;
}

void flatten_celldancer_net(const CellDancerNet& net, float* out) {
  for (const std::vector<float>* part : {&net.l1_weight, &net.l1_bias, &net.l2_weight, &net.l2_bias, &net.l3_weight, &net.l3_bias})
    out = std::copy(part->begin(), part->end(), out);
}

CellDancerNet unflatten_celldancer_net(const float* in) {
  CellDancerNet net;
  auto take = [&](std::vector<float>& part, int64_t size) {
    part.assign(in, in + size);
    in += size;
  };
  take(net.l1_weight, H * 2);
  take(net.l1_bias, H);
  take(net.l2_weight, H * H);
  take(net.l2_bias, H);
  take(net.l3_weight, 3 * H);
  take(net.l3_bias, 3);
  return net;
}

std::vector<GeneModel> train_celldancer(const std::vector<GeneFitData>& genes, const CellDancerNet& circle,
                                        const CellDancerNet& branch, const CellDancerOptions& o) {
  std::vector<GeneModel> out(genes.size());
  for (const CellDancerStack& stack : plan_celldancer_stacks(genes, o)) train_celldancer_stack(genes, stack, circle, branch, o, out);
  return out;
}

std::vector<float> celldancer_forward(const CellDancerNet& net, const std::vector<float>& us, double alpha0, double beta0,
                                      double gamma0, double dt) {
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(us.size() / 2);
  const Stack s = stack_of({&net});
  const torch::Tensor x = tensor_of(us, {1, n, 2});
  const torch::Tensor f = s.forward(x)[0];
  const torch::Tensor u = x[0].select(1, 0), sp = x[0].select(1, 1);
  const torch::Tensor beta = f.select(1, 0) * beta0, gamma = f.select(1, 1) * gamma0, alpha = f.select(1, 2) * alpha0;
  const torch::Tensor u_pred = u + (alpha - beta * u) * dt, s_pred = sp + (beta * u - gamma * sp) * dt;
  return vector_of(torch::stack({u_pred, s_pred, alpha, beta, gamma}, 1));
}

GenePrediction predict_celldancer(const GeneModel& model, double umax, double smax, const float* u, const float* s,
                                  int64_t n, double dt) {
  torch::NoGradGuard no_grad;
  const Stack st = stack_of({&model.net});
  const torch::Tensor un = torch::from_blob(const_cast<float*>(u), {n}, torch::kFloat) / umax;
  const torch::Tensor sn = torch::from_blob(const_cast<float*>(s), {n}, torch::kFloat) / smax;
  const torch::Tensor f = st.forward(torch::stack({un, sn}, 1).unsqueeze(0))[0];
  const torch::Tensor beta = f.select(1, 0), gamma = f.select(1, 1) * (umax / smax), alpha = f.select(1, 2) * (2 * umax);
  GenePrediction out;
  out.velocity_u = vector_of((alpha - beta * un) * dt * umax);
  out.velocity_s = vector_of((beta * un - gamma * sn) * dt * smax);
  out.alpha = vector_of(alpha);
  out.beta = vector_of(beta * umax);
  out.gamma = vector_of(gamma * smax);
  return out;
}

}  // namespace velofield::models
