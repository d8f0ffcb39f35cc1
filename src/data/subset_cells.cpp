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
  // True when this rank neither sends nor receives a row: its slots are compacted in place.
  bool local_only() const {
    for (int r = 0; r < size_; ++r)
      if (r != rank_ && (send_hi_[static_cast<size_t>(r)] > send_lo_[static_cast<size_t>(r)] || recv_rows_[static_cast<size_t>(r)] > 0))
        return false;
    return true;
  }
  const std::vector<int64_t>& kept_rows() const { return rows_; }

  // Rows of `width` bytes at base + row * width.
  Bytes move_fixed(const unsigned char* base, size_t width) const {
    std::vector<int64_t> send_bytes(static_cast<size_t>(size_)), recv_bytes(static_cast<size_t>(size_));
    const size_t self = static_cast<size_t>(rank_);
    Bytes send((rows_.size() - static_cast<size_t>(send_hi_[self] - send_lo_[self])) * width);
    size_t at = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      recv_bytes[ur] = recv_rows_[ur] * static_cast<int64_t>(width);
      if (ur == self) continue;   // copied in place below, not through a buffer
      for (int64_t k = send_lo_[ur]; k < send_hi_[ur]; ++k) {
        if (width) std::memcpy(send.data() + at, base + static_cast<size_t>(rows_[static_cast<size_t>(k)]) * width, width);
        at += width;
      }
      send_bytes[ur] = (send_hi_[ur] - send_lo_[ur]) * static_cast<int64_t>(width);
    }
    send_bytes[self] = 0;
    Bytes recv = exchange(send, send_bytes, recv_bytes);
    // This rank's own rows land after those from lower ranks.
    int64_t row = 0;
    for (size_t r = 0; r < self; ++r) row += recv_rows_[r];
    for (int64_t k = send_lo_[self]; k < send_hi_[self]; ++k, ++row)
      if (width) std::memcpy(recv.data() + static_cast<size_t>(row) * width, base + static_cast<size_t>(rows_[static_cast<size_t>(k)]) * width, width);
    return recv;
  }

  // The same for a table held in an Array whose local row i is elements [old_ptr[i], old_ptr[i+1]),
  // rearranged in place: this rank's own kept rows slide within the array, only the rows that
  // change rank travel (a shifted partition moves a few boundary rows, not the whole table).
  // new_ptr: element offsets of the new local rows (size new_local_rows() + 1).
  void move_segments_in_place(Array& arr, const std::vector<int64_t>& old_ptr, const std::vector<int64_t>& new_ptr) const {
    const size_t esz = dtype_size(arr.dtype());
    const size_t self = static_cast<size_t>(rank_);
    std::vector<int64_t> send_bytes(static_cast<size_t>(size_), 0), recv_bytes(static_cast<size_t>(size_), 0);
    int64_t out_elems = 0;
    for (int r = 0; r < size_; ++r)
      if (static_cast<size_t>(r) != self)
        for (int64_t k = send_lo_[static_cast<size_t>(r)]; k < send_hi_[static_cast<size_t>(r)]; ++k) {
          const size_t i = static_cast<size_t>(rows_[static_cast<size_t>(k)]);
          out_elems += old_ptr[i + 1] - old_ptr[i];
        }
    Bytes send(static_cast<size_t>(out_elems) * esz);
    const unsigned char* src = static_cast<const unsigned char*>(arr.raw());
    size_t at = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      if (ur == self) continue;
      for (int64_t k = send_lo_[ur]; k < send_hi_[ur]; ++k) {
        const size_t i = static_cast<size_t>(rows_[static_cast<size_t>(k)]);
        const size_t len = static_cast<size_t>(old_ptr[i + 1] - old_ptr[i]) * esz;
        if (len) std::memcpy(send.data() + at, src + static_cast<size_t>(old_ptr[i]) * esz, len);
        at += len;
        send_bytes[ur] += static_cast<int64_t>(len);
      }
    }
    int64_t row = 0, prefix_rows = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      if (ur == self) prefix_rows = row;
      else recv_bytes[ur] = (new_ptr[static_cast<size_t>(row + recv_rows_[ur])] - new_ptr[static_cast<size_t>(row)]) * static_cast<int64_t>(esz);
      row += recv_rows_[ur];
    }
    const Bytes recv = exchange(send, send_bytes, recv_bytes);   // dense: lower ranks' rows, then higher ranks'
    // Own rows to the front (they only move towards lower offsets), then into place.
    unsigned char* base = static_cast<unsigned char*>(arr.raw());
    int64_t kept = 0;
    for (int64_t k = send_lo_[self]; k < send_hi_[self]; ++k) {
      const size_t i = static_cast<size_t>(rows_[static_cast<size_t>(k)]);
      const int64_t len = old_ptr[i + 1] - old_ptr[i];
      if (len && old_ptr[i] != kept) std::memmove(base + static_cast<size_t>(kept) * esz, base + static_cast<size_t>(old_ptr[i]) * esz, static_cast<size_t>(len) * esz);
      kept += len;
    }
    const int64_t total = new_ptr.back(), prefix = new_ptr[static_cast<size_t>(prefix_rows)];
    if (static_cast<int64_t>(arr.size()) < total) arr.resize(static_cast<size_t>(total));
    base = static_cast<unsigned char*>(arr.raw());
    if (prefix && kept) std::memmove(base + static_cast<size_t>(prefix) * esz, base, static_cast<size_t>(kept) * esz);
    if (prefix) std::memcpy(base, recv.data(), static_cast<size_t>(prefix) * esz);
    const int64_t suffix = total - prefix - kept;
    if (suffix) std::memcpy(base + static_cast<size_t>(prefix + kept) * esz, recv.data() + static_cast<size_t>(prefix) * esz, static_cast<size_t>(suffix) * esz);
    arr.resize(static_cast<size_t>(total));
  }

  // New element offsets of a table whose local row i has lengths[i] elements (i over all local rows).
  std::vector<int64_t> new_offsets_of(const std::vector<int64_t>& old_ptr) const {
    std::vector<int64_t> lengths(rows_.size());
    for (size_t k = 0; k < rows_.size(); ++k) {
      const size_t i = static_cast<size_t>(rows_[k]);
      lengths[k] = old_ptr[i + 1] - old_ptr[i];
    }
    const Bytes moved = RowMover(*this, identity_rows()).move_fixed(reinterpret_cast<const unsigned char*>(lengths.data()), sizeof(int64_t));
    const int64_t* len = reinterpret_cast<const int64_t*>(moved.data());
    std::vector<int64_t> ptr(static_cast<size_t>(new_local_ + 1), 0);
    for (int64_t i = 0; i < new_local_; ++i) ptr[static_cast<size_t>(i + 1)] = ptr[static_cast<size_t>(i)] + len[i];
    return ptr;
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
    const size_t self = static_cast<size_t>(rank_);
    int64_t self_bytes = 0;
    for (int64_t k = send_lo_[self]; k < send_hi_[self]; ++k) self_bytes += lengths[static_cast<size_t>(k)];
    send.resize(static_cast<size_t>(total - self_bytes));
    size_t at = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      if (ur == self) continue;   // copied in place below
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
    int64_t row = 0, self_row = 0;
    for (int r = 0; r < size_; ++r) {
      const size_t ur = static_cast<size_t>(r);
      if (ur == self) self_row = row;
      recv_bytes[ur] = new_offsets[static_cast<size_t>(row + recv_rows_[ur])] - new_offsets[static_cast<size_t>(row)];
      row += recv_rows_[ur];
    }
    Bytes recv = exchange(send, send_bytes, recv_bytes);
    // This rank's own rows go straight into the gap exchange() left for them.
    {
      int64_t out = new_offsets[static_cast<size_t>(self_row)];
      for (int64_t k = send_lo_[self]; k < send_hi_[self]; ++k) {
        const size_t i = static_cast<size_t>(rows_[static_cast<size_t>(k)]);
        const size_t len = static_cast<size_t>(lengths[static_cast<size_t>(k)]);
        if (len) std::memcpy(recv.data() + out, base + offsets[i], len);
        out += static_cast<int64_t>(len);
      }
    }
    return recv;
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
    // A rank's own rows are not in `send`: the callers copy them into the gap left at recv_at[self].
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    return recv;
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<int64_t> rows_;
  std::vector<int64_t> send_lo_, send_hi_, recv_rows_;
  int64_t new_local_ = 0;
};

// In-place compaction for a rank that keeps its rows: kept rows slide forward (rows ascend, so a
// row never lands on one not yet moved), no second copy of the data is made.
void compact_array(const RowMover& mover, Array& a, int64_t elements_per_row) {
  const size_t width = dtype_size(a.dtype()) * static_cast<size_t>(elements_per_row);
  unsigned char* base = static_cast<unsigned char*>(a.raw());
  size_t to = 0;
  for (int64_t r : mover.kept_rows()) {
    if (static_cast<size_t>(r) != to && width) std::memmove(base + to * width, base + static_cast<size_t>(r) * width, width);
    ++to;
  }
  a.resize(to * static_cast<size_t>(elements_per_row));
}

template <class T>
void compact_vector(const RowMover& mover, std::vector<T>& v) {
  size_t to = 0;
  for (int64_t r : mover.kept_rows()) {
    if (static_cast<size_t>(r) != to) v[to] = std::move(v[static_cast<size_t>(r)]);
    ++to;
  }
  v.resize(to);
}

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
  if (mover.local_only()) {
    compact_vector(mover, frame.index);
    for (auto& [name, column] : frame.columns) {
      (void)name;
      if (column.kind == Column::Kind::string || column.kind == Column::Kind::nullable_string) compact_vector(mover, column.strings);
      else compact_array(mover, column.values, 1);
      if (!column.mask.empty()) compact_vector(mover, column.mask);
    }
    return;
  }
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

// Every cell-indexed matrix: this rank's own rows stay in their arrays, the rest travel.
void move_matrix_in(const RowMover& mover, Matrix& m) {
  if (auto* csr = std::get_if<CsrMatrix>(&m)) {
    const std::vector<int64_t> new_ptr = mover.new_offsets_of(csr->indptr);
    mover.move_segments_in_place(csr->indices, csr->indptr, new_ptr);
    mover.move_segments_in_place(csr->data, csr->indptr, new_ptr);
    csr->indptr = new_ptr;
    csr->rows = mover.new_local_rows();
    return;
  }
  auto& dense = std::get<DenseArray>(m);
  if (dense.shape.empty()) throw Error("internal: subset_cells: a cell-indexed dense slot without a row dimension");
  const int64_t w = dense.row_stride();
  std::vector<int64_t> old_ptr(static_cast<size_t>(dense.shape[0] + 1)), new_ptr(static_cast<size_t>(mover.new_local_rows() + 1));
  for (size_t i = 0; i < old_ptr.size(); ++i) old_ptr[i] = static_cast<int64_t>(i) * w;
  for (size_t i = 0; i < new_ptr.size(); ++i) new_ptr[i] = static_cast<int64_t>(i) * w;
  mover.move_segments_in_place(dense.values, old_ptr, new_ptr);
  dense.shape[0] = mover.new_local_rows();
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
  if (d.X) move_matrix_in(mover, *d.X);
  for (auto& [name, m] : d.layers) (void)name, move_matrix_in(mover, m);
  for (auto& [name, m] : d.obsm) (void)name, move_matrix_in(mover, m);
  if (d.raw) move_matrix_in(mover, d.raw->X);
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
