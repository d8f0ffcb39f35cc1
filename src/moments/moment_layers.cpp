#include "moments/moment_layers.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/log.hpp"
#include "data/row_exchange.hpp"
#include "moment_smoothing.hpp"

namespace velofield {

namespace {

// Reads a layer's values for consecutive blocks of the computed genes. A CSR layer whose rows
// are sorted by column is read with a cursor per row, so all blocks together cost one pass over
// its entries (not one pass per block); unsorted rows are scanned whole for every block.
class GeneBlockReader {
 public:
  GeneBlockReader(const Matrix& layer, const std::vector<int64_t>& genes, const std::vector<int64_t>& position)
      : layer_(layer), genes_(genes), position_(position) {
    if (const auto* csr = std::get_if<CsrMatrix>(&layer)) {
      next_.assign(csr->indptr.begin(), csr->indptr.end() - 1);
      for (int64_t i = 0; i < csr->rows && sorted_; ++i)
        for (int64_t k = csr->indptr[static_cast<size_t>(i)] + 1; k < csr->indptr[static_cast<size_t>(i + 1)] && sorted_; ++k)
          sorted_ = csr->index(k - 1) < csr->index(k);
    }
  }

  // Fills rows × (g1 - g0), row-major, with genes [g0, g1) of the computed list. Blocks must come
  // in increasing order.
  template <class T>
  void read(int64_t g0, int64_t g1, std::vector<T>& out) {
    const int64_t width = g1 - g0;
    const int64_t rows = matrix_rows(layer_);
    out.assign(static_cast<size_t>(rows * width), T(0));
    if (const auto* csr = std::get_if<CsrMatrix>(&layer_)) {
      const int64_t gene_end = g1 < static_cast<int64_t>(genes_.size()) ? genes_[static_cast<size_t>(g1)] : INT64_MAX;
      dispatch_dtype(csr->data.dtype(), [&](auto tag) {
        using V = decltype(tag);
        const V* values = csr->data.data<V>();
        auto fill = [&](const auto* idx) {
          for (int64_t i = 0; i < rows; ++i) {
            const int64_t end = csr->indptr[static_cast<size_t>(i + 1)];
            int64_t k = sorted_ ? next_[static_cast<size_t>(i)] : csr->indptr[static_cast<size_t>(i)];
            for (; k < end && (!sorted_ || idx[k] < gene_end); ++k) {
              const int64_t p = position_[static_cast<size_t>(idx[k])];
              if (p >= g0 && p < g1) out[static_cast<size_t>(i * width + p - g0)] += static_cast<T>(values[k]);
            }
            if (sorted_) next_[static_cast<size_t>(i)] = k;
          }
        };
        if (csr->indices.dtype() == DType::i32) fill(csr->indices.data<int32_t>());
        else fill(csr->indices.data<int64_t>());
      });
    } else {
      const auto& dense = std::get<DenseArray>(layer_);
      const int64_t cols = dense.row_stride();
      dispatch_dtype(dense.values.dtype(), [&](auto tag) {
        using V = decltype(tag);
        const V* values = dense.values.data<V>();
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t p = g0; p < g1; ++p)
            out[static_cast<size_t>(i * width + p - g0)] = static_cast<T>(values[i * cols + genes_[static_cast<size_t>(p)]]);
      });
    }
  }

 private:
  const Matrix& layer_;
  const std::vector<int64_t>& genes_;
  const std::vector<int64_t>& position_;
  std::vector<int64_t> next_;
  bool sorted_ = true;
};

const Matrix& input_layer(const Dataset& dataset, const std::string& name, const std::string& key) {
  const Matrix* m = nullptr;
  agree_on(dataset.comm, [&] {
    auto it = dataset.layers.find(name);
    if (it == dataset.layers.end()) {
      std::string have;
      for (const auto& kv : dataset.layers) have += (have.empty() ? "" : ", ") + kv.first;
      fail(dataset.source, "layers/" + name,
           "not present (this file has layers: " + (have.empty() ? std::string("none") : have) +
               "); moments average the size-factor-normalised layers that preprocess writes, or name others with " + key);
    }
    if (matrix_rows(it->second) != dataset.n_obs_local || matrix_cols(it->second) != dataset.n_vars)
      fail(dataset.source, "layers/" + name, "expected cells × genes");
    m = &it->second;
  });
  return *m;
}

// The output layer with storage for the computed genes.
Matrix make_output(const Dataset& dataset, const std::vector<int64_t>& genes, DType dtype) {
  const int64_t n = dataset.n_obs_local, g = static_cast<int64_t>(genes.size());
  if (g == dataset.n_vars) return DenseArray::zeros({n, g}, dtype);
  CsrMatrix csr = CsrMatrix::with_shape(n, dataset.n_vars, dtype);
  csr.indptr.resize(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) csr.indptr[static_cast<size_t>(i)] = i * g;
  const DType idx = index_dtype_for(dataset.n_vars);
  csr.indices = Array(idx, static_cast<size_t>(n * g));
  csr.file_indices_dtype = idx;
  csr.file_indptr_dtype = index_dtype_for(n * g);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < g; ++j) {
      if (idx == DType::i32) csr.indices.data<int32_t>()[i * g + j] = static_cast<int32_t>(genes[static_cast<size_t>(j)]);
      else csr.indices.data<int64_t>()[i * g + j] = genes[static_cast<size_t>(j)];
    }
  csr.data = Array(dtype, static_cast<size_t>(n * g));
  return csr;
}

}  // namespace

void check_moment_inputs(const Dataset& dataset, const MomentLayerOptions& options) {
  input_layer(dataset, options.spliced, options.option_prefix + "spliced_layer");
  input_layer(dataset, options.unspliced, options.option_prefix + "unspliced_layer");
}

std::vector<int64_t> selected_genes(const Dataset& dataset, const std::string& option_name) {
  if (!dataset.var.has("use_for_pca"))
    fail(dataset.source, "var/use_for_pca",
         "not present: the selected genes come from preprocess; run it first, or use " + option_name + " all");
  const Column& c = dataset.var.columns.at("use_for_pca");
  std::vector<int64_t> genes;
  for (int64_t g = 0; g < dataset.n_vars; ++g) {
    const bool missing = !c.mask.empty() && c.mask[static_cast<size_t>(g)];
    if (!missing && c.values.as_double(static_cast<size_t>(g)) != 0) genes.push_back(g);
  }
  if (genes.empty()) fail(dataset.source, "var/use_for_pca", "no gene is selected; use " + option_name + " all");
  return genes;
}

void compute_moment_layers(Dataset& dataset, const DistMatrix& moment_matrix, const MomentLayerOptions& options) {
  const Matrix& xs = input_layer(dataset, options.spliced, options.option_prefix + "spliced_layer");
  const Matrix& xu = input_layer(dataset, options.unspliced, options.option_prefix + "unspliced_layer");
  const std::vector<int64_t>& genes = options.genes;
  std::vector<int64_t> position(static_cast<size_t>(dataset.n_vars), -1);
  for (size_t p = 0; p < genes.size(); ++p) position[static_cast<size_t>(genes[p])] = static_cast<int64_t>(p);

  // W's local rows, columns renumbered: local cells first, then the halo in ascending global order.
  std::vector<int64_t> indptr, cols;
  std::vector<double> weights;
  moment_matrix.local_csr(indptr, cols, weights);
  const int64_t n = dataset.n_obs_local, begin = dataset.obs_begin;
  std::vector<int64_t> halo;
  for (int64_t c : cols)
    if (c < begin || c >= begin + n) halo.push_back(c);
  std::sort(halo.begin(), halo.end());
  halo.erase(std::unique(halo.begin(), halo.end()), halo.end());
  const int64_t n_halo = static_cast<int64_t>(halo.size());
  for (int64_t& c : cols) {
    if (c >= begin && c < begin + n) c -= begin;
    else c = n + (std::lower_bound(halo.begin(), halo.end(), c) - halo.begin());
  }

  // Gene blocks: (n + halo) rows × width × (u, s) doubles, plus the exchange buffers, within the
  // budget. Every rank uses the same width (the exchange is collective per block).
  int64_t rows_max = n + n_halo;
  MPI_Allreduce(MPI_IN_PLACE, &rows_max, 1, MPI_INT64_T, MPI_MAX, dataset.comm);
  const int64_t g_total = static_cast<int64_t>(genes.size());
  const int64_t value_bytes = options.dtype == DType::f32 ? 4 : 8;
  const int64_t width_max = std::max<int64_t>(1, options.block_bytes / (std::max<int64_t>(rows_max, 1) * 2 * value_bytes * 2));
  const int64_t width = std::min(g_total, width_max);
  const int64_t blocks = (g_total + width - 1) / width;
  log().detail(cat("moments: ", n_halo, " halo rows, ", blocks, " gene block(s) of up to ", width, " genes"));

  const char* names[5] = {"M_u", "M_s", "M_uu", "M_us", "M_ss"};
  const int n_out = options.second_moments ? 5 : 2;
  std::vector<Matrix> outputs;
  for (int o = 0; o < n_out; ++o) outputs.push_back(make_output(dataset, genes, options.dtype));

  const BlockPartition partition = dataset.partition();
  double seconds[3] = {0, 0, 0};   // gather the genes' values, exchange the halo, smooth
  // The sums are computed in the storage type: float64 for parity with dynamo, float32 at half
  // the memory and traffic.
  auto run = [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> u_local, s_local;
    GeneBlockReader read_u(xu, genes, position), read_s(xs, genes, position);
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t g0 = b * width, g1 = std::min(g_total, g0 + width);
      const int64_t w = g1 - g0;
      double t = MPI_Wtime();
      read_u.read(g0, g1, u_local);
      read_s.read(g0, g1, s_local);
      seconds[0] += MPI_Wtime() - t;
      t = MPI_Wtime();
      const std::vector<T> fetched = fetch_rows(dataset.comm, partition, halo, 2 * w, [&](int64_t row, T* out) {
        std::copy_n(u_local.data() + row * w, w, out);
        std::copy_n(s_local.data() + row * w, w, out + w);
      });
      // Local rows then halo rows, for u and for s.
      u_local.resize(static_cast<size_t>((n + n_halo) * w));
      s_local.resize(static_cast<size_t>((n + n_halo) * w));
      for (int64_t h = 0; h < n_halo; ++h) {
        std::copy_n(fetched.data() + h * 2 * w, w, u_local.data() + (n + h) * w);
        std::copy_n(fetched.data() + h * 2 * w + w, w, s_local.data() + (n + h) * w);
      }
      seconds[1] += MPI_Wtime() - t;
      t = MPI_Wtime();
      // Straight into the layers: the computed genes are the consecutive stored values of each
      // CSR row, or all columns of the dense layer.
      T* out[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
      for (int o = 0; o < n_out; ++o) {
        Matrix& m = outputs[static_cast<size_t>(o)];
        Array& values = std::holds_alternative<CsrMatrix>(m) ? std::get<CsrMatrix>(m).data : std::get<DenseArray>(m).values;
        out[o] = values.data<T>() + g0;
      }
      kernels::moment_smoothing<T>(n, indptr.data(), cols.data(), weights.data(), n + n_halo, w, u_local.data(), s_local.data(),
                                   g_total, out[0], out[1], out[2], out[3], out[4]);
      seconds[2] += MPI_Wtime() - t;
      if (blocks > 1) log().progress("moments: gene blocks", b + 1, blocks);
    }
  };
  if (options.dtype == DType::f32) run(float{});
  else run(double{});
  log().detail(cat("moments: gather ", seconds[0], " s, halo exchange ", seconds[1], " s, smoothing kernel ", seconds[2], " s"));
  for (int o = 0; o < n_out; ++o) dataset.layers[names[o]] = std::move(outputs[static_cast<size_t>(o)]);
  if (!options.second_moments)
    for (const char* name : {"M_uu", "M_us", "M_ss"}) dataset.layers.erase(name);
}

}  // namespace velofield
