#pragma once
// cellDancer's per-gene network (spec §2.2-2.4) behind a torch-free interface: weights as plain
// float vectors, training of a list of genes (stacked into batched matrix products, one network and
// one Adam state per gene, per-gene early stopping), and the forward pass over a gene's cells.
#include <cstdint>
#include <string>
#include <vector>

namespace velofield::models {

// One network's parameters in torch.nn.Linear layout ([out, in] weights), 10,703 floats.
struct CellDancerNet {
  std::vector<float> l1_weight, l1_bias, l2_weight, l2_bias, l3_weight, l3_bias;   // 100×2, 100, 100×100, 100, 3×100, 3
};
constexpr int64_t kCellDancerHidden = 100;

// The converted pretrained weights (../shared/reference/celldancer/{circle,branch}.h5).
CellDancerNet read_celldancer_net(const std::string& path);
// The documented fallback when the files are absent: PyTorch's default Linear initialisation
// (uniform ±1/sqrt(fan_in) for weights and biases), drawn from a keyed stream.
CellDancerNet random_celldancer_net(uint64_t seed);

struct CellDancerOptions {
  uint64_t seed = 0;
  double dt = 0.5;
  double permutation_ratio = 0.125;
  int64_t max_epochs = 200;
  double learning_rate = 1e-3;
  double weight_decay = 0.004;   // coupled L2 (torch.optim.Adam)
  int64_t n_neighbors = 30;      // including the cell itself
  int64_t check_every = 10;      // early-stopping checks of the smoothed loss
  int64_t patience = 3;
  int64_t batch_elements = 1 << 24;   // genes stacked per batch: Σ n² of the distance matrices at most this
  int64_t stack_genes = 32;           // and at most this many genes: stacks are the units of the work queue
};

struct GeneFitData {
  int64_t gene = 0;              // global gene index: keys the gene's random draws
  double umax = 0, smax = 0;     // raw maxima over all cells
  std::vector<double> points;    // unique rounded raw (u, s) pairs of the fit cells
};

struct GeneModel {
  CellDancerNet net;
  bool circle = false;     // which initial network it started from
  int64_t epochs = 0;      // epochs trained (early stopping)
  double loss = 0;         // last epoch's cosine loss (1 − max cos, mean over the subsample)
  bool trained = false;    // false: fewer than 2 points, nothing to fit
};

// A group of genes trained together (indices into the planned gene list) and its estimated cost.
struct CellDancerStack {
  std::vector<size_t> members;
  double cost = 0;   // genes × n × (n + hidden): the n² neighbour search plus the n·hidden network per gene
};
// The stacks of `genes`: similar point counts together (little padding), bounded by batch_elements
// (Σ n²) and stack_genes, most expensive first. A function of the genes and options only, so every
// rank that plans the same genes gets the same stacks. Genes with fewer than 2 points (or a zero
// maximum) are in no stack: they stay untrained.
std::vector<CellDancerStack> plan_celldancer_stacks(const std::vector<GeneFitData>& genes, const CellDancerOptions& options);
// Trains one stack: writes out[m] for each member m (out sized like genes, other entries untouched).
void train_celldancer_stack(const std::vector<GeneFitData>& genes, const CellDancerStack& stack, const CellDancerNet& circle,
                            const CellDancerNet& branch, const CellDancerOptions& options, std::vector<GeneModel>& out);

// A network's 10,703 parameters as one flat vector (the layout of CellDancerNet's members in order), and back.
constexpr int64_t kCellDancerParameters = kCellDancerHidden * 2 + kCellDancerHidden + kCellDancerHidden * kCellDancerHidden +
                                          kCellDancerHidden + 3 * kCellDancerHidden + 3;
void flatten_celldancer_net(const CellDancerNet& net, float* out);
CellDancerNet unflatten_celldancer_net(const float* in);

// Trains every gene (plan, then every stack in turn); results in the order of `genes`.
std::vector<GeneModel> train_celldancer(const std::vector<GeneFitData>& genes, const CellDancerNet& circle,
                                        const CellDancerNet& branch, const CellDancerOptions& options);

// cellDancer's per-cell forward on normalised (u, s) rows: returns n × 5 rows (u_pred, s_pred,
// alpha, beta, gamma) with alpha = a'·alpha0, beta = b'·beta0, gamma = c'·gamma0 and one Euler step.
std::vector<float> celldancer_forward(const CellDancerNet& net, const std::vector<float>& us, double alpha0, double beta0,
                                      double gamma0, double dt);

// A trained gene on raw (u, s) of n cells: velocity_S = smax·(ŝ − s_n), velocity_U = umax·(û − u_n),
// and the reported rates (alpha; beta·umax; gamma·smax, cellDancer's rescaling).
struct GenePrediction {
  std::vector<float> velocity_s, velocity_u, alpha, beta, gamma;
};
GenePrediction predict_celldancer(const GeneModel& model, double umax, double smax, const float* u, const float* s,
                                  int64_t n, double dt);

}  // namespace velofield::models
