#include "data/subset_cells.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"

namespace velofield {

namespace {

using Bytes = std::vector<unsigned char>;

// Moves rows of one rank-local table to their new owners. The kept rows of every rank, in rank
// order, are the new global order; the destination of a kept row is the owner of its new index in
// the block partition. So each rank sends a contiguous run of its kept rows to each of a contiguous
// range of ranks, and receives from each source in source order: concatenation keeps cell order.
class RowMover {
 public:
  RowMover(MPI_Comm comm, std::vector<int64_t> rows, int64_t new_first, int64_t new_total)
      : comm_(comm), rows_(std::move(rows)) {
    MPI_Comm_rank(comm, &rank_);
    MPI_Comm_size(comm, &size_);
    const BlockPartition dest{new_total, size_};
    const size_t p = static_cast<size_t>(size_);
    send_lo_.assign(p, 0);
    send_hi_.assign(p, 0);
    const int64_t n = static_cast<int64_t>(rows_.size());
    for (int r = 0; r < size_; ++r) {
      const int64_t lo = std::clamp(dest.begin(r) - new_first, int64_t{0}, n);
      const int64_t hi = std::clamp(dest.end(r) - new_first, int64_t{0}, n);
      send_lo_[static_cast<size_t>(r)] = lo;
      send_hi_[static_cast<size_t>(r)] = std::max(lo, hi);
    }
    std::vector<int64_t> send_rows(p), recv_rows(p);
    for (size_t r = 0; r < p; ++r) send_rows[r] = send_hi_[r] - send_lo_[r];
    MPI_Alltoall(send_rows.data(), 1, MPI_INT64_T, recv_rows.data(), 1, MPI_INT64_T, comm_);
    recv_rows_ = recv_rows;
    new_local_ = 0;
    for (int64_t c : recv_rows_) new_local_ += c;
  }

  int64_t new_local_rows() const { return new_local_; }

  // Rows of `width` bytes at base + row * width.
  Bytes move_fixed(const unsigned char* base, size_t width) const {
    std::vector<int64_t> send_bytes(static_cast<size_t>(size_)), recv_bytes(static_cast<size_t>(size_));
    Bytes send(rows_.size() * width);
    size_t at = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      for (int64_t k = send_lo_[ur]; k < send_hi_[ur]; ++k) {
        if (width) std::memcpy(send.data() + at, base + static_cast<size_t>(rows_[static_cast<size_t>(k)]) * width, width);
        at += width;
      }
      send_bytes[ur] = (send_hi_[ur] - send_lo_[ur]) * static_cast<int64_t>(width);
      recv_bytes[ur] = recv_rows_[ur] * static_cast<int64_t>(width);
    }
    return exchange(send, send_bytes, recv_bytes);
  }

  // Rows of varying length: row i is bytes [offsets[i], offsets[i+1]) of base. Returns the moved
  // bytes; `new_offsets` receives the offsets of the new local rows (size new_local_rows() + 1).
  Bytes move_variable(const unsigned char* base, const std::vector<int64_t>& offsets, std::vector<int64_t>& new_offsets) const {
    std::vector<int64_t> lengths(rows_.size());
    Bytes send;
    std::vector<int64_t> send_bytes(static_cast<size_t>(size_), 0);
    int64_t total = 0;
    for (size_t k = 0; k < rows_.size(); ++k) {
      const size_t i = static_cast<size_t>(rows_[k]);
      lengths[k] = offsets[i + 1] - offsets[i];
      total += lengths[k];
    }
    send.resize(static_cast<size_t>(total));
    size_t at = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      for (int64_t k = send_lo_[ur]; k < send_hi_[ur]; ++k) {
        const size_t i = static_cast<size_t>(rows_[static_cast<size_t>(k)]);
        const size_t len = static_cast<size_t>(lengths[static_cast<size_t>(k)]);
        if (len) std::memcpy(send.data() + at, base + offsets[i], len);
        at += len;
        send_bytes[ur] += static_cast<int64_t>(len);
      }
    }
    // The lengths travel as a fixed-width table indexed by the position among the kept rows.
    const Bytes moved_lengths = RowMover(*this, identity_rows()).move_fixed(
        reinterpret_cast<const unsigned char*>(lengths.data()), sizeof(int64_t));
    const int64_t* new_lengths = reinterpret_cast<const int64_t*>(moved_lengths.data());
    new_offsets.assign(static_cast<size_t>(new_local_ + 1), 0);
    for (int64_t i = 0; i < new_local_; ++i) new_offsets[static_cast<size_t>(i + 1)] = new_offsets[static_cast<size_t>(i)] + new_lengths[i];
    // Bytes expected from each source: the sum of the lengths of its rows.
    std::vector<int64_t> recv_bytes(static_cast<size_t>(size_), 0);
    int64_t row = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      recv_bytes[ur] = new_offsets[static_cast<size_t>(row + recv_rows_[ur])] - new_offsets[static_cast<size_t>(row)];
      row += recv_rows_[ur];
    }
    return exchange(send, send_bytes, recv_bytes);
  }

 private:
  // The same plan over a table whose row k is the k-th kept row (for per-kept-row tables).
  RowMover(const RowMover& o, std::vector<int64_t> rows) : RowMover(o) { rows_ = std::move(rows); }
  std::vector<int64_t> identity_rows() const {
    std::vector<int64_t> id(rows_.size());
    for (size_t k = 0; k < id.size(); ++k) id[k] = static_cast<int64_t>(k);
    return id;
  }

  // Point-to-point in pieces of at most 1 GiB, so no MPI count overflows whatever the sizes.
  Bytes exchange(const Bytes& send, const std::vector<int64_t>& send_bytes, const std::vector<int64_t>& recv_bytes) const {
    constexpr int64_t piece = int64_t{1} << 30;
    const size_t p = static_cast<size_t>(size_);
    std::vector<int64_t> send_at(p, 0), recv_at(p, 0);
    for (size_t r = 1; r < p; ++r) {
      send_at[r] = send_at[r - 1] + send_bytes[r - 1];
      recv_at[r] = recv_at[r - 1] + recv_bytes[r - 1];
    }
    Bytes recv(static_cast<size_t>(recv_at[p - 1] + recv_bytes[p - 1]));
    std::vector<MPI_Request> requests;
    for (size_t r = 0; r < p; ++r) {
      if (static_cast<int>(r) == rank_) continue;
      for (int64_t off = 0; off < recv_bytes[r]; off += piece)
        requests.emplace_back(),
            MPI_Irecv(recv.data() + recv_at[r] + off, static_cast<int>(std::min(piece, recv_bytes[r] - off)), MPI_BYTE,
                      static_cast<int>(r), 7301, comm_, &requests.back());
    }
    for (size_t r = 0; r < p; ++r) {
      if (static_cast<int>(r) == rank_) continue;
      for (int64_t off = 0; off < send_bytes[r]; off += piece)
        requests.emplace_back(),
            MPI_Isend(send.data() + send_at[r] + off, static_cast<int>(std::min(piece, send_bytes[r] - off)), MPI_BYTE,
                      static_cast<int>(r), 7301, comm_, &requests.back());
    }
    const size_t self = static_cast<size_t>(rank_);
    if (send_bytes[self] != recv_bytes[self]) throw Error("internal: subset_cells: inconsistent self exchange");
    if (send_bytes[self]) std::memcpy(recv.data() + recv_at[self], send.data() + send_at[self], static_cast<size_t>(send_bytes[self]));
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    return recv;
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<int64_t> rows_;
  std::vector<int64_t> send_lo_, send_hi_, recv_rows_;
  int64_t new_local_ = 0;
};

Array move_array(const RowMover& mover, const Array& a, int64_t elements_per_row) {
  const size_t width = dtype_size(a.dtype()) * static_cast<size_t>(elements_per_row);
  Bytes moved = mover.move_fixed(static_cast<const unsigned char*>(a.raw()), width);
  Array out(a.dtype(), static_cast<size_t>(mover.new_local_rows() * elements_per_row));
  if (!moved.empty()) std::memcpy(out.raw(), moved.data(), moved.size());
  return out;
}

std::vector<std::string> move_strings(const RowMover& mover, const std::vector<std::string>& s) {
  std::vector<int64_t> offsets(s.size() + 1, 0);
  for (size_t i = 0; i < s.size(); ++i) offsets[i + 1] = offsets[i] + static_cast<int64_t>(s[i].size());
  Bytes flat(static_cast<size_t>(offsets.back()));
  for (size_t i = 0; i < s.size(); ++i)
    if (!s[i].empty()) std::memcpy(flat.data() + offsets[i], s[i].data(), s[i].size());
  std::vector<int64_t> new_offsets;
  Bytes moved = mover.move_variable(flat.data(), offsets, new_offsets);
  std::vector<std::string> out(static_cast<size_t>(mover.new_local_rows()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i].assign(reinterpret_cast<const char*>(moved.data()) + new_offsets[i], static_cast<size_t>(new_offsets[i + 1] - new_offsets[i]));
  return out;
}

std::vector<uint8_t> move_mask(const RowMover& mover, const std::vector<uint8_t>& mask) {
  Bytes moved = mover.move_fixed(mask.data(), 1);
  return std::vector<uint8_t>(moved.begin(), moved.end());
}

void move_frame(const RowMover& mover, DataFrame& frame) {
  frame.index = move_strings(mover, frame.index);
  for (auto& [name, column] : frame.columns) {
    (void)name;
    if (column.kind == Column::Kind::string || column.kind == Column::Kind::nullable_string) {
      column.strings = move_strings(mover, column.strings);
    } else {
      column.values = move_array(mover, column.values, 1);
    }
    if (!column.mask.empty()) column.mask = move_mask(mover, column.mask);
  }
}

CsrMatrix move_csr(const RowMover& mover, const CsrMatrix& m) {
  CsrMatrix out = m;
  const size_t isz = dtype_size(m.indices.dtype()), vsz = dtype_size(m.data.dtype());
  std::vector<int64_t> ioff(m.indptr.size()), voff(m.indptr.size());
  for (size_t i = 0; i < m.indptr.size(); ++i) {
    ioff[i] = m.indptr[i] * static_cast<int64_t>(isz);
    voff[i] = m.indptr[i] * static_cast<int64_t>(vsz);
  }
  std::vector<int64_t> new_ioff, new_voff;
  Bytes idx = mover.move_variable(static_cast<const unsigned char*>(m.indices.raw()), ioff, new_ioff);
  Bytes val = mover.move_variable(static_cast<const unsigned char*>(m.data.raw()), voff, new_voff);
  out.rows = mover.new_local_rows();
  out.indptr.assign(static_cast<size_t>(out.rows + 1), 0);
  for (size_t i = 0; i < out.indptr.size(); ++i) out.indptr[i] = new_ioff[i] / static_cast<int64_t>(isz);
  out.indices = Array(m.indices.dtype(), static_cast<size_t>(out.indptr.back()));
  out.data = Array(m.data.dtype(), static_cast<size_t>(out.indptr.back()));
  if (!idx.empty()) std::memcpy(out.indices.raw(), idx.data(), idx.size());
  if (!val.empty()) std::memcpy(out.data.raw(), val.data(), val.size());
  return out;
}

Matrix move_matrix(const RowMover& mover, const Matrix& m) {
  if (auto* csr = std::get_if<CsrMatrix>(&m)) return move_csr(mover, *csr);
  const auto& dense = std::get<DenseArray>(m);
  DenseArray out;
  out.shape = dense.shape;
  if (out.shape.empty()) throw Error("internal: subset_cells: a cell-indexed dense slot without a row dimension");
  out.shape[0] = mover.new_local_rows();
  out.values = move_array(mover, dense.values, dense.row_stride());
  return out;
}

// obsp: drop entries whose column is a removed cell, renumber columns, then move the rows.
DistMatrix move_obsp(MPI_Comm comm, const RowMover& mover, const DistMatrix& m, const std::vector<int64_t>& new_index,
                     int64_t new_total, int64_t& edges_removed) {
  std::vector<int64_t> indptr, cols;
  std::vector<double> values;
  m.local_csr(indptr, cols, values);
  std::vector<int64_t> kept_ptr(indptr.size(), 0), kept_cols;
  std::vector<double> kept_values;
  kept_cols.reserve(cols.size());
  kept_values.reserve(values.size());
  for (size_t r = 0; r + 1 < indptr.size(); ++r) {
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k) {
      const int64_t c = new_index[static_cast<size_t>(cols[static_cast<size_t>(k)])];
      if (c < 0) {
        ++edges_removed;
        continue;
      }
      kept_cols.push_back(c);
      kept_values.push_back(values[static_cast<size_t>(k)]);
    }
    kept_ptr[r + 1] = static_cast<int64_t>(kept_cols.size());
  }
  std::vector<int64_t> coff(kept_ptr.size()), voff(kept_ptr.size()), new_coff, new_voff;
  for (size_t i = 0; i < kept_ptr.size(); ++i) {
    coff[i] = kept_ptr[i] * static_cast<int64_t>(sizeof(int64_t));
    voff[i] = kept_ptr[i] * static_cast<int64_t>(sizeof(double));
  }
  Bytes c = mover.move_variable(reinterpret_cast<const unsigned char*>(kept_cols.data()), coff, new_coff);
  Bytes v = mover.move_variable(reinterpret_cast<const unsigned char*>(kept_values.data()), voff, new_voff);
  const int64_t rows = mover.new_local_rows();
  std::vector<int64_t> new_ptr(static_cast<size_t>(rows + 1));
  for (size_t i = 0; i < new_ptr.size(); ++i) new_ptr[i] = new_coff[i] / static_cast<int64_t>(sizeof(int64_t));
  std::vector<int64_t> new_cols(static_cast<size_t>(new_ptr.back()));
  std::vector<double> new_values(static_cast<size_t>(new_ptr.back()));
  if (!c.empty()) std::memcpy(new_cols.data(), c.data(), c.size());
  if (!v.empty()) std::memcpy(new_values.data(), v.data(), v.size());
  return DistMatrix::from_local_csr(comm, rows, new_total, new_ptr, new_cols, new_values, m.file_dtype());
}

}  // namespace

SubsetCellsReport subset_cells(Dataset& d, const std::vector<uint8_t>& keep_local) {
  agree(d.comm, static_cast<int64_t>(keep_local.size()) == d.n_obs_local,
        "internal: subset_cells: the keep mask has " + std::to_string(keep_local.size()) + " entries for " +
            std::to_string(d.n_obs_local) + " local cells");
  std::vector<int64_t> rows;
  rows.reserve(keep_local.size());
  for (size_t i = 0; i < keep_local.size(); ++i)
    if (keep_local[i]) rows.push_back(static_cast<int64_t>(i));
  const int64_t n_keep = static_cast<int64_t>(rows.size());
  int64_t new_first = 0, new_total = 0;
  MPI_Exscan(&n_keep, &new_first, 1, MPI_INT64_T, MPI_SUM, d.comm);
  if (d.rank() == 0) new_first = 0;
  MPI_Allreduce(&n_keep, &new_total, 1, MPI_INT64_T, MPI_SUM, d.comm);

  SubsetCellsReport report;
  report.kept = new_total;
  report.removed = d.n_obs - new_total;
  // Nothing to do when no cell goes and the rows already sit in the block partition.
  const BlockPartition target{new_total, d.ranks()};
  int moves = (n_keep != d.n_obs_local || new_first != target.begin(d.rank())) ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &moves, 1, MPI_INT, MPI_MAX, d.comm);
  if (!moves) return report;

  RowMover mover(d.comm, rows, new_first, new_total);
  move_frame(mover, d.obs);
  if (d.X) d.X = move_matrix(mover, *d.X);
  for (auto& [name, m] : d.layers) (void)name, m = move_matrix(mover, m);
  for (auto& [name, m] : d.obsm) (void)name, m = move_matrix(mover, m);
  if (d.raw) d.raw->X = move_matrix(mover, d.raw->X);
  if (!d.obsp.empty()) {
    // New global index of every old cell (-1 when removed): a gather of the keep masks.
    std::vector<int> counts(static_cast<size_t>(d.ranks())), displs(static_cast<size_t>(d.ranks()), 0);
    const int local = static_cast<int>(d.n_obs_local);
    MPI_Allgather(&local, 1, MPI_INT, counts.data(), 1, MPI_INT, d.comm);
    for (int r = 1; r < d.ranks(); ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
    std::vector<uint8_t> keep_all(static_cast<size_t>(d.n_obs));
    MPI_Allgatherv(keep_local.data(), static_cast<int>(keep_local.size()), MPI_UINT8_T, keep_all.data(), counts.data(),
                   displs.data(), MPI_UINT8_T, d.comm);
    std::vector<int64_t> new_index(keep_all.size());
    int64_t next = 0;
    for (size_t i = 0; i < keep_all.size(); ++i) new_index[i] = keep_all[i] ? next++ : -1;
    for (auto& [name, m] : d.obsp) (void)name, m = move_obsp(d.comm, mover, m, new_index, new_total, report.obsp_edges_removed);
    MPI_Allreduce(MPI_IN_PLACE, &report.obsp_edges_removed, 1, MPI_INT64_T, MPI_SUM, d.comm);
    if (report.removed > 0)
      log().warn("subset_cells: obsp graphs (" + std::to_string(d.obsp.size()) + ") were cut to the " + std::to_string(new_total) +
                 " kept cells (" + std::to_string(report.obsp_edges_removed) +
                 " entries pointed at removed cells); rows no longer sum as before: recompute them (e.g. moments) if they matter");
  }
  d.n_obs = new_total;
  d.obs_begin = target.begin(d.rank());
  d.n_obs_local = mover.new_local_rows();
  return report;
}

void rebalance_cells(Dataset& d) { subset_cells(d, std::vector<uint8_t>(static_cast<size_t>(d.n_obs_local), 1)); }

}  // namespace velofield
