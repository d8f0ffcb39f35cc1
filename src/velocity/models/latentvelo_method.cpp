// `dynamics --method latentvelo`: dynamo's extvelo(method='latentvelo') on the distributed Dataset.
// LatentVelo's own preprocessing from the raw spliced/unspliced counts (library normalisation,
// scVelo's dispersion HVGs, moments over the binarised kNN graph with the moments stage's matrix,
// velocity genes, 4·(1 + sd) scaling) is computed into new buffers: the caller's layers are never
// overwritten (LatentVelo overwrites them; spec §1). Everything stays distributed by cells: the
// moments read the graph neighbours' rows from their owners (row_exchange.hpp), the per-gene
// statistics that need whole gene columns (a percentile) work on a gene-block transpose, and the
// training fetches each chunk's rows when it computes it (latentvelo_model.hpp). Outputs cover all
// genes: the velocity layers are CSR storing the HVG columns, in LatentVelo's normed units Ms/(4·(1 + sd)).
#include <mpi.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/gather.hpp"
#include "core/log.hpp"
#include "data/row_exchange.hpp"
#include "moments/moment_matrix.hpp"
#include "velocity/dynamics_record.hpp"
#include "velocity/gene_flags.hpp"
#include "velocity/layer_reader.hpp"
#include "velocity/models/latentvelo_genes.hpp"
#include "velocity/models/latentvelo_model.hpp"
#include "velocity/models/model_methods.hpp"

namespace velofield {

namespace {

std::vector<StageKey> latentvelo_keys() {
  return {
      {"spliced_key", "spliced", "latentvelo: layer of raw spliced counts (read, never modified)"},
      {"unspliced_key", "unspliced", "latentvelo: layer of raw unspliced counts (read, never modified)"},
      {"celltype_key", "clusters", "latentvelo: obs column of cell types for the annotated prior (\"\": none)"},
      {"graph_key", "connectivities", "latentvelo: obsp kNN graph (GCN adjacency and, binarised, the moments)"},
      {"n_top_genes", "2000", "latentvelo: HVGs kept by scVelo's dispersion filter"},
      {"seed", "0", "random seed (results do not depend on the rank count)"},
      {"epochs", "50", "latentvelo: training epochs"},
      {"latentvelo_batch_size", "200", "latentvelo: cells per fixed chunk (one GCN sub-graph and ODE solve; LatentVelo's batch_size)"},
      {"chunks_per_step", "2", "latentvelo: chunks per optimizer step (spread over the ranks)"},
      {"latentvelo_learning_rate", "0.01", "latentvelo: Adam learning rate (LatentVelo's learning_rate; ReduceLROnPlateau factor 0.75, patience 5)"},
      {"grad_clip", "1000", "latentvelo: clip of the global gradient L2 norm (0: none)"},
      {"test", "0.1", "latentvelo: fraction at the end of each chunk held out of the loss"},
      {"latent_dim", "20", "latentvelo: latent dimensions L"},
      {"zr_dim", "2", "latentvelo: regulatory latent dimensions"},
      {"h_dim", "2", "latentvelo: context dimensions"},
      {"inference_samples", "10", "latentvelo: stochastic passes averaged for the outputs"},
  };
}

// The per-gene statistics from whole gene columns of Ms and Mu, the cells distributed by rows: an
// all-to-all gives each rank every cell's values of one block of genes (cells in global order, as
// on one process), the rank computes its genes, and the small per-gene results are joined.
std::vector<models::LatentveloGene> gene_statistics(MPI_Comm comm, const std::vector<float>& ms, const std::vector<float>& mu,
                                                    int64_t n_cells, int64_t n_local, int64_t G) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const BlockPartition genes{G, ranks}, cells{n_cells, ranks};
  const size_t P = static_cast<size_t>(ranks);
  // To rank r: this rank's rows of r's genes, [row][gene in block][s, u].
  std::vector<int> send_counts(P), send_displs(P, 0), recv_counts(P), recv_displs(P, 0);
  int64_t biggest = 0;
  for (int r = 0; r < ranks; ++r) {
    const size_t ur = static_cast<size_t>(r);
    const int64_t out = n_local * genes.size(r) * 2, in = cells.size(r) * genes.size(rank) * 2;
    biggest = std::max({biggest, out, in});
    send_counts[ur] = static_cast<int>(out);
    recv_counts[ur] = static_cast<int>(in);
    if (r > 0) {
      send_displs[ur] = send_displs[ur - 1] + send_counts[ur - 1];
      recv_displs[ur] = recv_displs[ur - 1] + recv_counts[ur - 1];
    }
  }
  const int64_t total_in = n_cells * genes.size(rank) * 2;
  biggest = std::max({biggest, n_local * G * 2, total_in});
  agree(comm, biggest <= INT32_MAX,
        cat("internal: latentvelo: the gene-block transpose would move ", biggest, " values at once (more than 2^31)"));
  std::vector<float> send(static_cast<size_t>(n_local * G * 2)), recv(static_cast<size_t>(total_in));
  for (int r = 0; r < ranks; ++r) {
    float* dst = send.data() + send_displs[static_cast<size_t>(r)];
    for (int64_t i = 0; i < n_local; ++i)
      for (int64_t g = genes.begin(r); g < genes.end(r); ++g) {
        *dst++ = ms[static_cast<size_t>(i * G + g)];
        *dst++ = mu[static_cast<size_t>(i * G + g)];
      }
  }
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_FLOAT, recv.data(), recv_counts.data(),
                recv_displs.data(), MPI_FLOAT, comm);
  std::vector<float>().swap(send);
  // Received in rank order, so row i of rank q is global cell cells.begin(q) + i.
  const int64_t mine = genes.size(rank);
  std::vector<double> packed;
  std::vector<float> cs(static_cast<size_t>(n_cells)), cu(cs.size());
  for (int64_t j = 0; j < mine; ++j) {
    for (int64_t c = 0; c < n_cells; ++c) {
      cs[static_cast<size_t>(c)] = recv[static_cast<size_t>((c * mine + j) * 2)];
      cu[static_cast<size_t>(c)] = recv[static_cast<size_t>((c * mine + j) * 2 + 1)];
    }
    const models::LatentveloGene s = models::latentvelo_gene(cs.data(), cu.data(), n_cells);
    packed.insert(packed.end(), {s.gamma_quantile, s.gamma_ref, s.r2, s.scaling, s.expressed ? 1.0 : 0.0,
                                 static_cast<double>(s.both_positive), s.sd_s, s.sd_u});
  }
  const std::vector<double> all = gather_concat(comm, packed);
  std::vector<models::LatentveloGene> stats(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g) {
    const double* v = all.data() + g * 8;
    models::LatentveloGene& s = stats[static_cast<size_t>(g)];
    s.gamma_quantile = v[0];
    s.gamma_ref = v[1];
    s.r2 = v[2];
    s.scaling = v[3];
    s.expressed = v[4] != 0;
    s.both_positive = static_cast<int64_t>(v[5]);
    s.sd_s = v[6];
    s.sd_u = v[7];
  }
  return stats;
}

void run_latentvelo(Dataset& d, const StageConfig& sc) {
  models::LatentveloOptions o;
  o.seed = static_cast<uint64_t>(sc.get_int("seed"));
  o.epochs = sc.get_int("epochs");
  o.batch_size = sc.get_int("latentvelo_batch_size");
  o.chunks_per_step = sc.get_int("chunks_per_step");
  o.learning_rate = sc.get_double("latentvelo_learning_rate");
  o.grad_clip = sc.get_double("grad_clip");
  o.test_fraction = sc.get_double("test");
  o.latent_dim = sc.get_int("latent_dim");
  o.zr_dim = sc.get_int("zr_dim");
  o.h_dim = sc.get_int("h_dim");
  o.inference_samples = sc.get_int("inference_samples");
  o.source = d.source;
  const int64_t n_top = sc.get_int("n_top_genes");
  auto where = [&](const char* key) { return sc.config().where(sc.section(), key); };
  if (o.epochs < 1) throw Error(where("epochs") + ": expected an integer >= 1");
  if (o.batch_size < 2) throw Error(where("latentvelo_batch_size") + ": expected an integer >= 2");
  if (o.chunks_per_step < 1) throw Error(where("chunks_per_step") + ": expected an integer >= 1");
  if (!(o.learning_rate > 0) || !(o.grad_clip >= 0)) throw Error(where("latentvelo_learning_rate") + ": latentvelo_learning_rate must be > 0 and grad_clip >= 0");
  if (!(o.test_fraction >= 0 && o.test_fraction < 1)) throw Error(where("test") + ": expected a value in [0, 1)");
  if (o.latent_dim < 1 || o.zr_dim < 1 || o.h_dim < 1) throw Error(where("latent_dim") + ": latent_dim, zr_dim and h_dim must be >= 1");
  if (o.inference_samples < 1) throw Error(where("inference_samples") + ": expected an integer >= 1");
  if (n_top < 1) throw Error(where("n_top_genes") + ": expected an integer >= 1");
  if (d.n_obs < 2) fail(d.source, "obs", cat("latentvelo: ", d.n_obs, " cells: need at least 2"));

  const std::string s_key = sc.get_string("spliced_key"), u_key = sc.get_string("unspliced_key");
  const std::string type_key = sc.get_string("celltype_key"), graph_key = sc.get_string("graph_key");
  for (const std::string& key : {s_key, u_key})
    if (!d.layers.count(key)) fail(d.source, "layers/" + key, "latentvelo needs the raw spliced and unspliced counts: layer not present");
  if (!d.obsp.count(graph_key))
    fail(d.source, "obsp/" + graph_key, "latentvelo needs the kNN graph: not present (run the neighbors stage first)");
  if (!type_key.empty() && !d.obs.has(type_key))
    fail(d.source, "obs/" + type_key, "latentvelo: cell-type column not present (set celltype_key \"\" for none)");
  if (!type_key.empty() && d.obs.columns.at(type_key).kind != Column::Kind::categorical)
    fail(d.source, "obs/" + type_key, "latentvelo: the cell-type column must be categorical");

  // 1. Library normalisation of each modality by its own library size over the median one.
  const int64_t n_local = d.n_obs_local, G_all = d.n_vars;
  std::vector<int64_t> all_genes(static_cast<size_t>(G_all));
  for (int64_t g = 0; g < G_all; ++g) all_genes[static_cast<size_t>(g)] = g;
  LayerReader s_reader(d.layer(s_key)), u_reader(d.layer(u_key));
  std::vector<double> lib_s(static_cast<size_t>(n_local)), lib_u(lib_s.size()), row(static_cast<size_t>(G_all));
  int64_t bad = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t i = 0; i < n_local; ++i) {
      (pass == 0 ? s_reader : u_reader).read_row(i, all_genes.data(), G_all, row.data());
      double sum = 0;
      for (double v : row) {
        bad += !std::isfinite(v) || v < 0;
        sum += v;
      }
      (pass == 0 ? lib_s : lib_u)[static_cast<size_t>(i)] = sum;
    }
  agree(d.comm, bad == 0, describe(d.source, "layers/" + s_key + ", layers/" + u_key, "latentvelo: negative, NaN or infinite counts"));
  auto median = [&](const std::vector<double>& mine) {
    std::vector<double> all = gather_concat(d.comm, mine);
    std::sort(all.begin(), all.end());
    const size_t n = all.size();
    return n % 2 ? all[n / 2] : 0.5 * (all[n / 2 - 1] + all[n / 2]);
  };
  const double med_s = median(lib_s), med_u = median(lib_u);
  auto factor = [](double lib, double med) { return lib > 0 ? med / lib : 0.0; };

  // 2. HVGs on the normalised spliced counts.
  std::vector<double> moments(static_cast<size_t>(2 * G_all), 0);
  for (int64_t i = 0; i < n_local; ++i) {
    s_reader.read_row(i, all_genes.data(), G_all, row.data());
    const double f = factor(lib_s[static_cast<size_t>(i)], med_s);
    for (int64_t g = 0; g < G_all; ++g) {
      const double x = row[static_cast<size_t>(g)] * f;
      moments[static_cast<size_t>(g)] += x;
      moments[static_cast<size_t>(G_all + g)] += x * x;
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, moments.data(), static_cast<int>(moments.size()), MPI_DOUBLE, MPI_SUM, d.comm);
  std::vector<double> mean(moments.begin(), moments.begin() + G_all), mean_sq(moments.begin() + G_all, moments.end());
  for (int64_t g = 0; g < G_all; ++g) {
    mean[static_cast<size_t>(g)] /= static_cast<double>(d.n_obs);
    mean_sq[static_cast<size_t>(g)] /= static_cast<double>(d.n_obs);
  }
  const std::vector<uint8_t> hvg = models::dispersion_top_genes(mean, mean_sq, d.n_obs, n_top);
  std::vector<int64_t> genes;
  for (int64_t g = 0; g < G_all; ++g)
    if (hvg[static_cast<size_t>(g)]) genes.push_back(g);
  const int64_t G = static_cast<int64_t>(genes.size());
  if (G == 0) fail(d.source, "layers/" + s_key, "latentvelo: no gene has a finite dispersion (all-zero spliced counts)");

  // 3. Normalised HVG counts of this rank's cells (their nonzeros are the loss mask, spec §4.1.3),
  // then the moments of these rows over the binarised kNN graph with self (the moments stage's
  // matrix), reading the remote neighbours' rows from their owners.
  std::vector<float> s_norm(static_cast<size_t>(n_local * G)), u_norm(s_norm.size());
  {
    std::vector<double> sr(static_cast<size_t>(G));
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = 0; i < n_local; ++i) {
        (pass == 0 ? s_reader : u_reader).read_row(i, genes.data(), G, sr.data());
        const double f = pass == 0 ? factor(lib_s[static_cast<size_t>(i)], med_s) : factor(lib_u[static_cast<size_t>(i)], med_u);
        float* dst = (pass == 0 ? s_norm : u_norm).data() + i * G;
        for (int64_t j = 0; j < G; ++j) dst[j] = static_cast<float>(sr[static_cast<size_t>(j)] * f);
      }
  }
  const int64_t N = d.n_obs, begin = d.obs_begin;
  models::LatentveloInput in;
  in.n_cells = N;
  in.n_genes = G;
  in.begin = begin;
  in.end = begin + n_local;
  in.mask.resize(s_norm.size());
  for (size_t k = 0; k < s_norm.size(); ++k) in.mask[k] = s_norm[k] > 0 || u_norm[k] > 0;
  in.s.assign(s_norm.size(), 0);
  in.u.assign(s_norm.size(), 0);
  {
    const DistMatrix W = moment_matrix(d.comm, d.obsp.at(graph_key));
    std::vector<int64_t> indptr, cols;
    std::vector<double> values;
    W.local_csr(indptr, cols, values);
    std::vector<int64_t> halo;
    for (int64_t c : cols)
      if (c < begin || c >= begin + n_local) halo.push_back(c);
    std::sort(halo.begin(), halo.end());
    halo.erase(std::unique(halo.begin(), halo.end()), halo.end());
    const std::vector<float> remote = fetch_rows(d.comm, d.partition(), halo, 2 * G, [&](int64_t r, float* out) {
      std::copy_n(s_norm.data() + r * G, G, out);
      std::copy_n(u_norm.data() + r * G, G, out + G);
    });
    for (int64_t i = 0; i < n_local; ++i)
      for (int64_t k = indptr[static_cast<size_t>(i)]; k < indptr[static_cast<size_t>(i) + 1]; ++k) {
        const float w = static_cast<float>(values[static_cast<size_t>(k)]);
        const int64_t c = cols[static_cast<size_t>(k)];
        const float *sj, *uj;
        if (c >= begin && c < begin + n_local) {
          sj = s_norm.data() + (c - begin) * G;
          uj = u_norm.data() + (c - begin) * G;
        } else {
          sj = remote.data() + (std::lower_bound(halo.begin(), halo.end(), c) - halo.begin()) * 2 * G;
          uj = sj + G;
        }
        for (int64_t j = 0; j < G; ++j) {
          in.s[static_cast<size_t>(i * G + j)] += w * sj[j];
          in.u[static_cast<size_t>(i * G + j)] += w * uj[j];
        }
      }
  }
  std::vector<float>().swap(s_norm);
  std::vector<float>().swap(u_norm);
  {   // the GCN's graph: this rank's rows, global columns
    const DistMatrix& A = d.obsp.at(graph_key);
    A.local_csr(in.adj_indptr, in.adj_indices, in.adj_weights);
  }

  // 4. Velocity genes and the scaling, per gene over all cells.
  const std::vector<models::LatentveloGene> stats = gene_statistics(d.comm, in.s, in.u, N, n_local, G);
  in.velocity_genes = models::latentvelo_velocity_genes(stats);
  const int64_t n_velocity = std::count(in.velocity_genes.begin(), in.velocity_genes.end(), uint8_t{1});
  if (n_velocity == 0)
    fail(d.source, "layers/" + s_key + ", layers/" + u_key,
         cat("latentvelo: none of the ", G, " HVGs passes the velocity-gene filter (0.01 < r² < 0.95, γ > 0.01, u and s "
             "expressed): nothing to regularise (LatentVelo crashes here, issue #3)"));
  std::vector<double> scale_s(static_cast<size_t>(G)), scale_u(scale_s.size());
  for (int64_t j = 0; j < G; ++j) {
    scale_s[static_cast<size_t>(j)] = 4 * (1 + stats[static_cast<size_t>(j)].sd_s);
    scale_u[static_cast<size_t>(j)] = 4 * (1 + stats[static_cast<size_t>(j)].sd_u);
  }
  for (int64_t i = 0; i < n_local; ++i)
    for (int64_t j = 0; j < G; ++j) {
      in.s[static_cast<size_t>(i * G + j)] = static_cast<float>(in.s[static_cast<size_t>(i * G + j)] / scale_s[static_cast<size_t>(j)]);
      in.u[static_cast<size_t>(i * G + j)] = static_cast<float>(in.u[static_cast<size_t>(i * G + j)] / scale_u[static_cast<size_t>(j)]);
    }
  if (!type_key.empty()) {
    const Column& col = d.obs.columns.at(type_key);
    std::vector<int32_t> codes;
    for (int64_t i = 0; i < n_local; ++i) {
      const int64_t c = col.values.dtype() == DType::i8 ? col.values.data<int8_t>()[i]
                        : col.values.dtype() == DType::i16 ? col.values.data<int16_t>()[i]
                        : col.values.dtype() == DType::i32 ? col.values.data<int32_t>()[i]
                                                            : col.values.data<int64_t>()[i];
      codes.push_back(static_cast<int32_t>(c));
    }
    int64_t missing = std::count_if(codes.begin(), codes.end(), [](int32_t c) { return c < 0; });
    agree(d.comm, missing == 0, describe(d.source, "obs/" + type_key, "latentvelo: cells without a cell type (missing category)"));
    in.n_types = static_cast<int64_t>(col.categories.size() + col.numeric_categories.size());
    in.celltype = std::move(codes);
  }
  log().info(cat("dynamics: latentvelo: ", G, " HVGs of ", G_all, " genes, ", n_velocity, " velocity genes; ", N, " cells, ",
                 in.n_types, " cell types, ", d.ranks(), " ranks"));

  const models::LatentveloFit fit = models::fit_latentvelo(d.comm, in, o);

  // Outputs: velocity layers over all genes (CSR storing the HVG columns), latent slots, flags.
  auto velocity_layer = [&](const std::vector<double>& v) {
    CsrMatrix m = CsrMatrix::with_shape(n_local, G_all, DType::f32);
    m.indices = Array(DType::i32, static_cast<size_t>(n_local * G));
    m.data = Array(DType::f32, static_cast<size_t>(n_local * G));
    m.indptr.assign(1, 0);
    for (int64_t i = 0; i < n_local; ++i) {
      for (int64_t j = 0; j < G; ++j) {
        m.indices.data<int32_t>()[i * G + j] = static_cast<int32_t>(genes[static_cast<size_t>(j)]);
        m.data.data<float>()[i * G + j] = static_cast<float>(v[static_cast<size_t>(i * G + j)]);
      }
      m.indptr.push_back((i + 1) * G);
    }
    return m;
  };
  d.layers["velocity_S"] = velocity_layer(fit.velocity_s);
  d.layers["velocity_U"] = velocity_layer(fit.velocity_u);
  auto latent = [&](const std::vector<double>& v) {
    DenseArray a = DenseArray::zeros({n_local, o.latent_dim}, DType::f32);
    for (size_t k = 0; k < v.size(); ++k) a.values.data<float>()[k] = static_cast<float>(v[k]);
    return a;
  };
  d.obsm["X_latentvelo"] = latent(fit.z_s);
  d.obsm["X_latentvelo_velo_s"] = latent(fit.latent_velocity_s);
  d.obsm["X_latentvelo_velo_u"] = latent(fit.latent_velocity_u);
  d.obs.set("latent_time", Column::numeric(Array::from(fit.latent_time)));
  const size_t GA = static_cast<size_t>(G_all);
  std::vector<uint8_t> velocity_genes(GA, 0);
  std::vector<double> ss(GA, std::nan("")), su(GA, std::nan(""));
  for (int64_t j = 0; j < G; ++j) {
    const size_t g = static_cast<size_t>(genes[static_cast<size_t>(j)]);
    velocity_genes[g] = in.velocity_genes[static_cast<size_t>(j)];
    ss[g] = scale_s[static_cast<size_t>(j)];
    su[g] = scale_u[static_cast<size_t>(j)];
  }
  set_gene_flags(d, "latentvelo_hvg", hvg);
  set_gene_flags(d, "velocity_genes", velocity_genes);
  set_gene_flags(d, "velocity_S_genes", velocity_genes);
  set_gene_flags(d, "use_for_dynamics", velocity_genes);
  set_gene_flags(d, "use_for_transition", velocity_genes);
  set_gene_values(d, "latentvelo_scale_s", ss);
  set_gene_values(d, "latentvelo_scale_u", su);
  UnsNode params = UnsNode::dict();
  auto series = [](const std::vector<double>& v) {
    DenseArray a = DenseArray::zeros({static_cast<int64_t>(v.size())}, DType::f64);
    std::copy(v.begin(), v.end(), a.values.data<double>());
    return UnsNode::numeric(std::move(a));
  };
  std::vector<double> epochs(fit.val_ae.size());
  for (size_t e = 0; e < epochs.size(); ++e) epochs[e] = static_cast<double>(e);
  params["epochs"] = series(epochs);
  params["vae"] = series(fit.val_ae);
  params["val_traj"] = series(fit.val_traj);
  d.uns["latentvelo_train_params"] = std::move(params);
  d.uns["dynamics"] = dynamics_record(record_for(d));
  log().info(cat("dynamics: latentvelo: ", fit.val_ae.size(), " epochs (", fit.steps, " steps), best epoch ", fit.best_epoch + 1,
                 ", val_ae ", fit.best_epoch < 0 ? std::nan("") : fit.val_ae[static_cast<size_t>(fit.best_epoch)], ", ",
                 fit.forced_ode_steps, " forced ODE steps"));
}

}  // namespace

VelocityMethod latentvelo_velocity_method() {
  return {"latentvelo",
          "LatentVelo (dynamo's extvelo latentvelo): a cell-type-annotated VAE with a latent neural ODE on its own "
          "preprocessing of the raw spliced/unspliced counts (library-normalised HVG moments); velocity_S/velocity_U "
          "in LatentVelo's Ms/(4·(1+sd)) units, obs latent_time, obsm X_latentvelo; trained data-parallel with LibTorch",
          latentvelo_keys(), run_latentvelo};
}

}  // namespace velofield
