#include "velocity/layer_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace velofield {

namespace {

template <class Index>
bool rows_sorted(const CsrMatrix& m) {
  const Index* idx = m.indices.data<Index>();
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t k = m.indptr[r] + 1; k < m.indptr[r + 1]; ++k)
      if (idx[k - 1] >= idx[k]) return false;
  return true;
}

CsrMatrix sorted_copy(const CsrMatrix& m) {
  CsrMatrix out = m;
  const size_t w = dtype_size(m.data.dtype());
  std::vector<int64_t> order;
  std::vector<unsigned char> values;
  for (int64_t r = 0; r < m.rows; ++r) {
    const int64_t b = m.indptr[r], e = m.indptr[r + 1];
    order.resize(static_cast<size_t>(e - b));
    std::iota(order.begin(), order.end(), b);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return m.index(x) < m.index(y); });
    for (int64_t k = b; k < e; ++k) {
      const int64_t from = order[static_cast<size_t>(k - b)];
      if (m.indices.dtype() == DType::i32) out.indices.data<int32_t>()[k] = m.indices.data<int32_t>()[from];
      else out.indices.data<int64_t>()[k] = m.indices.data<int64_t>()[from];
      std::copy_n(static_cast<const unsigned char*>(m.data.raw()) + from * static_cast<int64_t>(w), w,
                  static_cast<unsigned char*>(out.data.raw()) + k * static_cast<int64_t>(w));
    }
  }
  return out;
}

// One row's entries [begin, end) merged against the sorted wanted columns: out[j * stride] for
// every hit (callers zero `out` first). The walk starts at `from` (an entry at or before the first
// wanted column) and returns where it stopped, so the next block of columns of the same row resumes
// there instead of searching again.
template <class Index, class Value>
int64_t merge_row(const Index* idx, const Value* val, int64_t begin, int64_t end, int64_t from, const int64_t* cols,
                  int64_t ncols, double* out, int64_t stride) {
  if (ncols == 0 || begin == end) return from;
  int64_t k = from;
  if (k > begin && idx[k - 1] >= cols[0]) k = std::lower_bound(idx + begin, idx + end, static_cast<Index>(cols[0])) - idx;
  int64_t j = 0;
  while (k < end && j < ncols) {
    const int64_t c = idx[k], want = cols[j];
    if (c == want) {   // first: a moments layer stores exactly the genes that are read back
      out[j * stride] = static_cast<double>(val[k]);
      ++k;
      ++j;
    } else if (c < want) {
      ++k;
    } else {
      ++j;
    }
  }
  return k;
}

template <class F>
decltype(auto) with_values(const Array& a, F&& f) {
  if (a.dtype() == DType::f32) return f(a.data<float>());
  return f(a.data<double>());
}

}  // namespace

LayerReader::LayerReader(const Matrix& m) : m_(&m) {
  if (auto* c = std::get_if<CsrMatrix>(&m)) {
    csr_ = c;
    // Values of other dtypes (integer counts) are read through a float64 copy.
    const bool float_values = c->data.dtype() == DType::f32 || c->data.dtype() == DType::f64;
    const bool sorted = c->indices.dtype() == DType::i32 ? rows_sorted<int32_t>(*c) : rows_sorted<int64_t>(*c);
    if (!sorted || !float_values) {
      sorted_ = sorted ? *c : sorted_copy(*c);
      if (!float_values) sorted_->data = sorted_->data.converted(DType::f64);
      csr_ = &*sorted_;
    }
    resume_.assign(csr_->indptr.begin(), csr_->indptr.end() - 1);
  } else {
    const DenseArray& d = std::get<DenseArray>(m);
    if (d.values.dtype() != DType::f32 && d.values.dtype() != DType::f64) {
      DenseArray copy = d;
      copy.values = d.values.converted(DType::f64);
      dense_copy_ = Matrix(std::move(copy));
      m_ = &*dense_copy_;
    }
  }
}

DType LayerReader::value_dtype() const {
  if (csr_) return csr_->data.dtype();
  return std::get<DenseArray>(*m_).values.dtype();
}

void LayerReader::read_columns(const int64_t* cols, int64_t ncols, double* out, ColumnExtremes* extremes) {
  const int64_t n = rows();
  if (extremes) {
    extremes->max.assign(static_cast<size_t>(ncols), std::numeric_limits<double>::lowest());
    extremes->max_abs.assign(static_cast<size_t>(ncols), 0.0);
    extremes->non_finite.assign(static_cast<size_t>(ncols), 0);
  }
  // Through a tile of kTile rows: each row is merged into the tile (in cache), then every column
  // leaves as kTile consecutive values, a whole cache line, instead of one scattered store per value.
  constexpr int64_t kTile = 8;
  std::vector<double> tile(static_cast<size_t>(ncols * kTile));
  auto flush = [&](int64_t first, int64_t count) {
    for (int64_t j = 0; j < ncols; ++j) {
      const double* t = tile.data() + j * kTile;
      std::copy_n(t, count, out + j * n + first);
      if (!extremes) continue;
      double mx = extremes->max[static_cast<size_t>(j)], ma = extremes->max_abs[static_cast<size_t>(j)];
      int64_t bad = 0;
      for (int64_t r = 0; r < count; ++r) {   // branch-free: NaN/Inf count, and change no maximum
        const bool ok = std::isfinite(t[r]);
        bad += !ok;
        mx = std::max(mx, ok ? t[r] : std::numeric_limits<double>::lowest());
        ma = std::max(ma, ok ? std::fabs(t[r]) : 0.0);
      }
      extremes->max[static_cast<size_t>(j)] = mx;
      extremes->max_abs[static_cast<size_t>(j)] = ma;
      extremes->non_finite[static_cast<size_t>(j)] += bad;
    }
  };
  if (csr_) {
    auto run = [&](auto* idx) {
      with_values(csr_->data, [&](auto* val) {
        for (int64_t first = 0; first < n; first += kTile) {
          const int64_t count = std::min(kTile, n - first);
          std::fill(tile.begin(), tile.end(), 0.0);
          for (int64_t r = 0; r < count; ++r) {
            const int64_t i = first + r;
            resume_[static_cast<size_t>(i)] =
                merge_row(idx, val, csr_->indptr[i], csr_->indptr[i + 1], resume_[static_cast<size_t>(i)], cols, ncols, tile.data() + r, kTile);
          }
          flush(first, count);
        }
      });
    };
    if (csr_->indices.dtype() == DType::i32) run(csr_->indices.data<int32_t>());
    else run(csr_->indices.data<int64_t>());
    return;
  }
  const DenseArray& d = std::get<DenseArray>(*m_);
  const int64_t stride = d.row_stride();
  const bool contiguous = ncols > 0 && cols[ncols - 1] - cols[0] == ncols - 1;
  with_values(d.values, [&](auto* val) {
    for (int64_t first = 0; first < n; first += kTile) {
      const int64_t count = std::min(kTile, n - first);
      for (int64_t r = 0; r < count; ++r) {
        const auto* row = val + (first + r) * stride;
        if (contiguous) {   // every gene of a range: a sequential read
          const auto* from = row + cols[0];
          for (int64_t j = 0; j < ncols; ++j) tile[static_cast<size_t>(j * kTile + r)] = static_cast<double>(from[j]);
        } else {
          for (int64_t j = 0; j < ncols; ++j) tile[static_cast<size_t>(j * kTile + r)] = static_cast<double>(row[cols[j]]);
        }
      }
      flush(first, count);
    }
  });
}

void LayerReader::read_entries(const int64_t* indptr, const int64_t* pos, const int64_t* cols, double* out) {
  const int64_t n = rows();
  std::vector<int64_t> wanted;
  if (csr_) {
    auto run = [&](auto* idx) {
      with_values(csr_->data, [&](auto* val) {
        for (int64_t i = 0; i < n; ++i) {
          const int64_t first = indptr[i], count = indptr[i + 1] - first;
          if (count == 0) continue;
          wanted.resize(static_cast<size_t>(count));
          for (int64_t k = 0; k < count; ++k) wanted[static_cast<size_t>(k)] = cols[pos[first + k]];
          std::fill(out + first, out + first + count, 0.0);
          resume_[static_cast<size_t>(i)] =
              merge_row(idx, val, csr_->indptr[i], csr_->indptr[i + 1], resume_[static_cast<size_t>(i)], wanted.data(), count, out + first, 1);
        }
      });
    };
    if (csr_->indices.dtype() == DType::i32) run(csr_->indices.data<int32_t>());
    else run(csr_->indices.data<int64_t>());
    return;
  }
  const DenseArray& d = std::get<DenseArray>(*m_);
  const int64_t stride = d.row_stride();
  with_values(d.values, [&](auto* val) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) out[k] = static_cast<double>(val[i * stride + cols[pos[k]]]);
  });
}

void LayerReader::read_row(int64_t row, const int64_t* cols, int64_t ncols, double* out) const {
  std::fill(out, out + ncols, 0.0);
  if (csr_) {
    auto run = [&](auto* idx) {
      with_values(csr_->data, [&](auto* val) {
        const int64_t b = csr_->indptr[row], e = csr_->indptr[row + 1];
        merge_row(idx, val, b, e, e, cols, ncols, out, 1);
      });
    };
    if (csr_->indices.dtype() == DType::i32) run(csr_->indices.data<int32_t>());
    else run(csr_->indices.data<int64_t>());
    return;
  }
  const DenseArray& d = std::get<DenseArray>(*m_);
  with_values(d.values, [&](auto* val) {
    const auto* r = val + row * d.row_stride();
    for (int64_t j = 0; j < ncols; ++j) out[j] = static_cast<double>(r[cols[j]]);
  });
}

}  // namespace velofield
