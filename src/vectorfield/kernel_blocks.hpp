#pragma once
// This rank's rows of the SparseVFC kernel matrix U(i, m) = exp(-beta ||x_i - c_m||²) (cells ×
// control points), handed out in chunks of rows. U is never needed whole: each EM pass streams
// over the chunks. When the local U fits the cache budget it is computed once and kept; otherwise
// every chunk is recomputed on every pass (trading N·M exponentials per pass for N·M·8 bytes).
// The chunks are the fit's (fit_layout.hpp): the caller gives their length, and the rows start at
// a chunk boundary, so chunk k here is always the same cells at any rank count.
//
// Coordinates are centred on the control points' mean first: the kernel is translation
// invariant, and for dim >= 8 the squared distances come from a GEMM (||x||² + ||c||² - 2 x·c),
// whose rounding error scales with ||x||².
#include <cstdint>
#include <vector>

namespace velofield {

class KernelBlocks {
 public:
  // x: rows × dim (this rank's cells), ctrl: M × dim. Both are copied (centred). chunk_rows > 0.
  KernelBlocks(int64_t rows, int64_t dim, const double* x, const std::vector<double>& ctrl, int64_t M, double beta,
               double cache_bytes, int64_t chunk_rows);

  int64_t rows() const { return rows_; }
  int64_t centres() const { return M_; }
  int64_t dim() const { return dim_; }
  double beta() const { return beta_; }
  bool cached() const { return cached_; }

  int64_t chunk_rows() const { return chunk_rows_; }
  int64_t chunk_count() const { return rows_ == 0 ? 0 : (rows_ + chunk_rows_ - 1) / chunk_rows_; }
  int64_t chunk_begin(int64_t k) const { return k * chunk_rows_; }
  int64_t chunk_size(int64_t k) const;
  // The chunk_size(k) × M rows of U; valid until the next call.
  const double* chunk(int64_t k);

  // Centred coordinates: rows × dim, and M × dim.
  const std::vector<double>& centred_rows() const { return x_; }
  const std::vector<double>& centred_ctrl() const { return ctrl_; }
  // The control points' mean, subtracted from every coordinate.
  const std::vector<double>& centre() const { return centre_; }

 private:
  void compute(int64_t k, double* out) const;

  int64_t rows_, dim_, M_;
  double beta_;
  int64_t chunk_rows_;
  bool cached_ = false;
  std::vector<double> x_, ctrl_, centre_, x_sq_, ctrl_sq_;
  std::vector<double> cache_;     // rows × M when cached
  std::vector<double> scratch_;   // one chunk otherwise
};

}  // namespace velofield
