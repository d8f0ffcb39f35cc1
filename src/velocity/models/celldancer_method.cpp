// `dynamics --method celldancer`: dynamo's extvelo(method='celldancer') on the distributed Dataset.
// Per-gene networks are trained gene-parallel: the moments go through an MPI_Alltoallv transpose
// from the cell partition to whole gene columns (gene j of a block on rank j mod P), each rank
// extracts the small fit data (unique rounded (u, s) points) of its genes, and the fit data of the
// whole block is all-gathered. Every rank then plans the same training stacks (celldancer_network.hpp)
// and takes stacks from a dynamic work queue (core/work_queue.hpp), most expensive first, so the
// ranks finish a block together instead of waiting for the rank whose static share was slowest. The
// trained networks are summed into every rank (one all-reduce, each gene trained by one rank), the
// column owner predicts every cell of its genes, and the results are transposed back to the cells'
// ranks. Genes are handled in blocks so the transposed columns stay a bounded slice.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/gather.hpp"
#include "core/log.hpp"
#include "core/work_queue.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/layer_reader.hpp"
#include "velocity/models/celldancer_network.hpp"
#include "velocity/models/celldancer_sampling.hpp"
#include "velocity/models/gene_transpose.hpp"
#include "velocity/models/model_methods.hpp"
#include "velocity/velocity_storage.hpp"

namespace velofield {

namespace {

using models::CellDancerNet;

std::vector<StageKey> celldancer_keys() {
  return {
      {"Ms_key", "M_s", "layer of spliced moments (cellDancer's s)"},
      {"Mu_key", "M_u", "layer of unspliced moments (cellDancer's u)"},
      {"basis", "X_umap", "celldancer: 2-D embedding (obsm) whose jittered 200×200 grid downsampling picks the fit cells (speed_up)"},
      {"speed_up", "true", "celldancer: fit on the embedding-downsampled cells (false: all cells)"},
      {"permutation_ratio", "0.125", "celldancer: fraction of a gene's unique points drawn each epoch (dynamo's examples use 0.5)"},
      {"max_epoches", "200", "celldancer: epochs (one Adam step each) per gene at most"},
      {"learning_rate", "0.001", "celldancer: Adam learning rate (coupled L2 weight decay 0.004)"},
      {"dt", "0.5", "celldancer: Euler step of the predicted next state"},
      {"n_neighbors", "30", "celldancer: neighbours (the cell itself included) for the cosine loss"},
      {"seed", "0", "random seed of the subsamples and jitter (results do not depend on the rank count)"},
      {"celldancer_weights", "../shared/reference/celldancer",
       "celldancer: folder with cellDancer's pretrained initial networks circle.h5 and branch.h5 (converted, see "
       "reference/celldancer/README.md); absent: PyTorch-default random initial networks, with a warning"},
      {"genes_per_block", "512",
       "celldancer: genes transposed and trained per round (bounds the transposed columns' memory; each round also "
       "all-reduces the block's trained networks, 43 kB per gene)"},
      {"stack_genes", "32",
       "celldancer: genes trained together as one batched stack at most (the unit of work the ranks take from the "
       "dynamic queue; changes results only by float rounding; the rank count changes nothing)"},
  };
}

// This rank's rows of the first two columns of obsm[basis], gathered on every rank (N × 2).
std::vector<double> gathered_embedding(const Dataset& d, const std::string& basis) {
  const DenseArray& e = d.obsm_dense(basis);
  agree_on(d.comm, [&] {
    if (e.shape.size() != 2 || e.shape[1] < 2) fail(d.source, "obsm/" + basis, "needs at least 2 columns (a 2-D embedding)");
  });
  std::vector<double> local(static_cast<size_t>(2 * d.n_obs_local));
  const int64_t w = e.shape[1];
  for (int64_t i = 0; i < d.n_obs_local; ++i)
    for (int64_t c = 0; c < 2; ++c)
      local[static_cast<size_t>(2 * i + c)] = e.values.dtype() == DType::f32 ? e.values.data<float>()[i * w + c]
                                                                             : e.values.data<double>()[i * w + c];
  const BlockPartition part = d.partition();
  std::vector<int> counts(static_cast<size_t>(d.ranks())), disp(static_cast<size_t>(d.ranks()));
  for (int r = 0; r < d.ranks(); ++r) {
    counts[static_cast<size_t>(r)] = static_cast<int>(2 * part.size(r));
    disp[static_cast<size_t>(r)] = static_cast<int>(2 * part.begin(r));
  }
  std::vector<double> all(static_cast<size_t>(2 * d.n_obs));
  MPI_Allgatherv(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, all.data(), counts.data(), disp.data(),
                 MPI_DOUBLE, d.comm);
  for (double v : all)
    if (!std::isfinite(v)) fail(d.source, "obsm/" + basis, "holds NaN or infinite coordinates");
  return all;
}

std::pair<CellDancerNet, CellDancerNet> initial_networks(const std::string& folder, uint64_t seed, MPI_Comm comm) {
  const std::string circle = folder + "/circle.h5", branch = folder + "/branch.h5";
  if (!std::filesystem::exists(circle) || !std::filesystem::exists(branch)) {
    log().warn("dynamics: celldancer: " + folder + " has no circle.h5/branch.h5: starting every gene from a random "
               "network (PyTorch's default initialisation) instead of cellDancer's pretrained ones");
    return {models::random_celldancer_net(seed), models::random_celldancer_net(seed + 1)};
  }
  std::pair<CellDancerNet, CellDancerNet> nets;
  agree_on(comm, [&] { nets = {models::read_celldancer_net(circle), models::read_celldancer_net(branch)}; });
  return nets;
}

// The fit data of the whole block on every rank: each rank's genes (block positions `mine`) as
// [position, gene, umax, smax, point count, points...] records, all-gathered. Small by construction
// (unique rounded points of the fit cells).
std::vector<models::GeneFitData> gather_fit_data(MPI_Comm comm, const std::vector<models::GeneFitData>& fit,
                                                 const std::vector<int64_t>& mine, int64_t nb) {
  std::vector<double> local;
  for (size_t k = 0; k < fit.size(); ++k) {
    local.insert(local.end(), {static_cast<double>(mine[k]), static_cast<double>(fit[k].gene), fit[k].umax, fit[k].smax,
                               static_cast<double>(fit[k].points.size())});
    local.insert(local.end(), fit[k].points.begin(), fit[k].points.end());
  }
  const std::vector<double> all = gather_concat(comm, local);
  std::vector<models::GeneFitData> out(static_cast<size_t>(nb));
  for (size_t at = 0; at < all.size();) {
    models::GeneFitData& g = out[static_cast<size_t>(all[at])];
    g.gene = static_cast<int64_t>(all[at + 1]);
    g.umax = all[at + 2];
    g.smax = all[at + 3];
    const size_t count = static_cast<size_t>(all[at + 4]);
    g.points.assign(all.begin() + static_cast<std::ptrdiff_t>(at + 5), all.begin() + static_cast<std::ptrdiff_t>(at + 5 + count));
    at += 5 + count;
  }
  return out;
}

// In-place sum over ranks in pieces (MPI counts are int; a block's networks may pass 2^31 floats).
void allreduce_sum(MPI_Comm comm, std::vector<float>& v) {
  constexpr size_t piece = size_t{1} << 28;
  for (size_t at = 0; at < v.size(); at += piece)
    MPI_Allreduce(MPI_IN_PLACE, v.data() + at, static_cast<int>(std::min(piece, v.size() - at)), MPI_FLOAT, MPI_SUM, comm);
}

// A layer over all genes from gene-major rows of the fitted genes (zero elsewhere): CSR, as dynamo
// stores extvelo's velocity_S, unless a dense block is smaller.
Matrix gene_layer(const Dataset& d, const std::vector<int64_t>& genes, const std::vector<float>& values) {
  const int64_t n = d.n_obs_local, k = static_cast<int64_t>(genes.size());
  if (dense_is_smaller(d.comm, n * k, n, d.n_vars, DType::f32)) {
    DenseArray a = DenseArray::zeros({n, d.n_vars}, DType::f32);
    float* p = a.values.data<float>();
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < n; ++i) p[i * d.n_vars + genes[static_cast<size_t>(j)]] = values[static_cast<size_t>(j * n + i)];
    return a;
  }
  CsrMatrix m = CsrMatrix::with_shape(n, d.n_vars, DType::f32);
  m.indices = Array(index_dtype_for(d.n_vars), static_cast<size_t>(n * k));
  m.data = Array(DType::f32, static_cast<size_t>(n * k));
  m.indptr.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    m.indptr[static_cast<size_t>(i + 1)] = (i + 1) * k;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = i * k + j;
      if (m.indices.dtype() == DType::i32) m.indices.data<int32_t>()[at] = static_cast<int32_t>(genes[static_cast<size_t>(j)]);
      else m.indices.data<int64_t>()[at] = genes[static_cast<size_t>(j)];
      m.data.data<float>()[at] = values[static_cast<size_t>(j * n + i)];
    }
  }
  m.file_indices_dtype = m.indices.dtype();
  return m;
}

void run_celldancer(Dataset& d, const StageConfig& sc) {
  models::CellDancerOptions o;
  o.seed = static_cast<uint64_t>(sc.get_int("seed"));
  o.dt = sc.get_double("dt");
  o.permutation_ratio = sc.get_double("permutation_ratio");
  o.max_epochs = sc.get_int("max_epoches");
  o.learning_rate = sc.get_double("learning_rate");
  o.n_neighbors = sc.get_int("n_neighbors");
  o.stack_genes = sc.get_int("stack_genes");
  const int64_t block = sc.get_int("genes_per_block");
  const std::string where = sc.config().where(sc.section(), "permutation_ratio");
  if (!(o.permutation_ratio > 0 && o.permutation_ratio <= 1)) throw Error(where + ": expected a value in (0, 1]");
  if (o.max_epochs < 1 || o.n_neighbors < 2 || block < 1 || o.stack_genes < 1 || !(o.dt > 0) || !(o.learning_rate > 0))
    throw Error(sc.config().where(sc.section(), "max_epoches") +
                ": max_epoches, genes_per_block and stack_genes must be >= 1, n_neighbors >= 2, dt and learning_rate > 0");
  if (d.n_obs < 2) fail(d.source, "obs", "celldancer needs at least 2 cells");

  // dynamo's gene_list default: the PCA genes.
  std::vector<uint8_t> use = d.var.has("use_for_pca") ? gene_flags(d, "use_for_pca")
                                                      : std::vector<uint8_t>(static_cast<size_t>(d.n_vars), 1);
  std::vector<int64_t> genes;
  for (int64_t g = 0; g < d.n_vars; ++g)
    if (use[static_cast<size_t>(g)]) genes.push_back(g);
  if (genes.empty()) fail(d.source, "var/use_for_pca", "no gene selected: nothing for celldancer to fit");

  const std::string ms_key = sc.get_string("Ms_key"), mu_key = sc.get_string("Mu_key");
  LayerReader s_reader(d.layer(ms_key)), u_reader(d.layer(mu_key));
  const auto [circle, branch] = initial_networks(sc.get_string("celldancer_weights"), o.seed, d.comm);

  // The fit cells: cellDancer's jittered-grid downsampling of the embedding, the same on every rank.
  std::vector<int64_t> fit_cells;
  if (sc.get_bool("speed_up")) {
    const std::vector<double> xy = gathered_embedding(d, sc.get_string("basis"));
    models::KeyedStream rng(models::key_hash(o.seed, static_cast<uint64_t>(models::Stream::jitter), 0));
    fit_cells = models::grid_downsample(xy, 200, 0.15, rng);
  } else {
    for (int64_t i = 0; i < d.n_obs; ++i) fit_cells.push_back(i);
  }
  log().info("dynamics: celldancer: " + std::to_string(genes.size()) + " genes, fit on " + std::to_string(fit_cells.size()) +
             " of " + std::to_string(d.n_obs) + " cells, " + std::to_string(d.ranks()) + " ranks");

  const BlockPartition cells = d.partition();
  const int64_t n = d.n_obs, n_local = d.n_obs_local;
  const size_t G = static_cast<size_t>(d.n_vars);
  std::vector<float> out_vs, out_vu, out_alpha, out_beta, out_gamma;   // gene-major over `genes`, local rows
  std::vector<double> loss(G, std::nan("")), epochs(G, std::nan(""));
  std::vector<uint8_t> trained(G, 0), circle_init(G, 0);
  int64_t done = 0;
  WorkQueue queue(d.comm);
  int64_t my_stacks = 0;
  double my_seconds = 0;
  for (size_t b0 = 0; b0 < genes.size(); b0 += static_cast<size_t>(block)) {
    const std::vector<int64_t> blk(genes.begin() + static_cast<std::ptrdiff_t>(b0),
                                   genes.begin() + static_cast<std::ptrdiff_t>(std::min(genes.size(), b0 + static_cast<size_t>(block))));
    const int64_t nb = static_cast<int64_t>(blk.size());
    std::vector<double> s_local(static_cast<size_t>(nb * n_local)), u_local(s_local.size());
    ColumnExtremes se, ue;
    s_reader.read_columns(blk.data(), nb, s_local.data(), &se);
    u_reader.read_columns(blk.data(), nb, u_local.data(), &ue);
    int64_t bad = 0;
    for (int64_t j = 0; j < nb; ++j) bad += se.non_finite[static_cast<size_t>(j)] + ue.non_finite[static_cast<size_t>(j)];
    agree(d.comm, bad == 0, d.source + ": layers/" + ms_key + ", layers/" + mu_key + ": NaN or infinite moments");
    const std::vector<float> s_cols = models::cells_to_genes(d.comm, cells, std::vector<float>(s_local.begin(), s_local.end()), nb);
    const std::vector<float> u_cols = models::cells_to_genes(d.comm, cells, std::vector<float>(u_local.begin(), u_local.end()), nb);

    // This rank's genes of the block: whole columns, fit data, training, prediction of every cell.
    const std::vector<int64_t> mine = models::owned_genes(nb, d.rank(), d.ranks());
    std::vector<models::GeneFitData> fit(mine.size());
    for (size_t k = 0; k < mine.size(); ++k) {
      const float* s = s_cols.data() + static_cast<int64_t>(k) * n;
      const float* u = u_cols.data() + static_cast<int64_t>(k) * n;
      fit[k].gene = blk[static_cast<size_t>(mine[k])];
      fit[k].umax = *std::max_element(u, u + n);
      fit[k].smax = *std::max_element(s, s + n);
      std::vector<double> fu, fs;
      for (int64_t c : fit_cells) {
        fu.push_back(u[c]);
        fs.push_back(s[c]);
      }
      fit[k].points = models::unique_rounded_points(fu, fs);
    }
    // Every rank plans the same stacks over the whole block and takes them from the queue.
    const std::vector<models::GeneFitData> block_fit = gather_fit_data(d.comm, fit, mine, nb);
    const std::vector<models::CellDancerStack> plan = models::plan_celldancer_stacks(block_fit, o);
    std::vector<models::GeneModel> block_models(static_cast<size_t>(nb));
    constexpr int64_t P = models::kCellDancerParameters;
    std::vector<float> nets(static_cast<size_t>(nb * P), 0.0f);   // the networks this rank trained, zero elsewhere
    std::vector<double> stats(static_cast<size_t>(4 * nb), 0);     // trained, loss, epochs, circle per block gene
    queue.reset(static_cast<int64_t>(plan.size()));
    for (int64_t i = queue.next(); i >= 0; i = queue.next()) {
      const double t0 = MPI_Wtime();
      const models::CellDancerStack& stack = plan[static_cast<size_t>(i)];
      models::train_celldancer_stack(block_fit, stack, circle, branch, o, block_models);
      for (size_t j : stack.members) {
        const models::GeneModel& gm = block_models[j];
        models::flatten_celldancer_net(gm.net, nets.data() + static_cast<int64_t>(j) * P);
        stats[4 * j] = gm.trained;
        stats[4 * j + 1] = gm.loss;
        stats[4 * j + 2] = static_cast<double>(gm.epochs);
        stats[4 * j + 3] = gm.circle;
      }
      my_seconds += MPI_Wtime() - t0;
      ++my_stacks;
    }
    // Each gene was trained by exactly one rank: the sums are that rank's values.
    allreduce_sum(d.comm, nets);
    MPI_Allreduce(MPI_IN_PLACE, stats.data(), static_cast<int>(stats.size()), MPI_DOUBLE, MPI_SUM, d.comm);
    std::vector<float> cols[5];
    for (size_t k = 0; k < mine.size(); ++k) {
      const size_t j = static_cast<size_t>(mine[k]);
      const bool ok = stats[4 * j] > 0;
      models::GenePrediction p;
      if (ok) {
        models::GeneModel gm;
        gm.net = models::unflatten_celldancer_net(nets.data() + static_cast<int64_t>(j) * P);
        gm.trained = true;
        p = models::predict_celldancer(gm, fit[k].umax, fit[k].smax, u_cols.data() + static_cast<int64_t>(k) * n,
                                       s_cols.data() + static_cast<int64_t>(k) * n, n, o.dt);
      }
      const std::vector<float>* src[5] = {&p.velocity_s, &p.velocity_u, &p.alpha, &p.beta, &p.gamma};
      for (int f = 0; f < 5; ++f) {
        if (ok) cols[f].insert(cols[f].end(), src[f]->begin(), src[f]->end());
        else cols[f].insert(cols[f].end(), static_cast<size_t>(n), 0.0f);
      }
    }
    std::vector<float>* dst[5] = {&out_vs, &out_vu, &out_alpha, &out_beta, &out_gamma};
    for (int f = 0; f < 5; ++f) {
      const std::vector<float> back = models::genes_to_cells(d.comm, cells, cols[f], nb);
      dst[f]->insert(dst[f]->end(), back.begin(), back.end());
    }
    for (int64_t j = 0; j < nb; ++j) {
      const size_t g = static_cast<size_t>(blk[static_cast<size_t>(j)]);
      trained[g] = stats[static_cast<size_t>(4 * j)] > 0;
      if (trained[g]) {
        loss[g] = stats[static_cast<size_t>(4 * j + 1)];
        epochs[g] = stats[static_cast<size_t>(4 * j + 2)];
        circle_init[g] = stats[static_cast<size_t>(4 * j + 3)] > 0;
      }
    }
    done += nb;
    log().progress("dynamics: celldancer genes", done, static_cast<long long>(genes.size()));
  }

  // The balance of the queue: stacks and training seconds per rank.
  {
    const std::vector<double> per_rank = gather_concat(d.comm, {static_cast<double>(my_stacks), my_seconds});
    std::string line = "dynamics: celldancer: training per rank (stacks, seconds):";
    for (size_t r = 0; r < per_rank.size() / 2; ++r)
      line += cat(" rank ", r, " ", static_cast<long long>(per_rank[2 * r]), " stacks ", per_rank[2 * r + 1], " s;");
    log().info(line.substr(0, line.size() - 1));
  }

  // Untrained genes (fewer than 2 distinct points) keep velocity 0 and are not used downstream, as
  // in cellDancer, where a failing gene is skipped.
  std::vector<int64_t> fitted;
  std::vector<size_t> fitted_pos;
  for (size_t j = 0; j < genes.size(); ++j)
    if (trained[static_cast<size_t>(genes[j])]) {
      fitted.push_back(genes[j]);
      fitted_pos.push_back(j);
    }
  if (fitted.empty()) fail(d.source, ms_key, "celldancer: no gene has two distinct (u, s) points to fit");
  auto select = [&](const std::vector<float>& all) {
    std::vector<float> out;
    out.reserve(fitted_pos.size() * static_cast<size_t>(n_local));
    for (size_t j : fitted_pos)
      out.insert(out.end(), all.begin() + static_cast<int64_t>(j) * n_local, all.begin() + static_cast<int64_t>(j + 1) * n_local);
    return out;
  };
  d.layers["velocity_S"] = gene_layer(d, fitted, select(out_vs));
  d.layers["velocity_U"] = gene_layer(d, fitted, select(out_vu));
  d.layers["alpha"] = gene_layer(d, fitted, select(out_alpha));
  d.layers["beta"] = gene_layer(d, fitted, select(out_beta));
  d.layers["gamma"] = gene_layer(d, fitted, select(out_gamma));
  set_gene_values(d, "celldancer_loss", loss);
  set_gene_values(d, "celldancer_epochs", epochs);
  set_gene_flags(d, "celldancer_circle_init", circle_init);
  set_gene_flags(d, "use_for_dynamics", trained);
  set_gene_flags(d, "use_for_transition", trained);
  d.uns["dynamics"] = dynamics_record(record_for(d));
  log().info("dynamics: celldancer trained " + std::to_string(fitted.size()) + " of " + std::to_string(genes.size()) + " genes");
}

}  // namespace

VelocityMethod celldancer_velocity_method() {
  return {"celldancer",
          "cellDancer (dynamo's extvelo default): one small network per gene predicting per-cell alpha, beta, gamma, "
          "fitted to neighbour directions in (M_u, M_s); trained gene-parallel with LibTorch",
          celldancer_keys(), run_celldancer};
}

}  // namespace velofield
