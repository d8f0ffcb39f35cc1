#include "data/validate.hpp"

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "csr_row_stats.hpp"

namespace velofield {

namespace {
kernels::CountAnomalies scan(const CsrMatrix& m) {
  std::vector<double> sums(static_cast<size_t>(m.rows));
  std::vector<int64_t> nnz(static_cast<size_t>(m.rows));
  if (m.data.dtype() == DType::f32)
    return kernels::csr_row_stats<float>(m.rows, m.indptr.data(), m.data.data<float>(), sums.data(), nnz.data());
  if (m.data.dtype() == DType::f64)
    return kernels::csr_row_stats<double>(m.rows, m.indptr.data(), m.data.data<double>(), sums.data(), nnz.data());
  Array as_double = m.data.converted(DType::f64);
  return kernels::csr_row_stats<double>(m.rows, m.indptr.data(), as_double.data<double>(), sums.data(), nnz.data());
}

kernels::CountAnomalies scan(const DenseArray& a) {
  // A dense block is a CSR block with every entry present.
  CsrMatrix m;
  m.rows = a.rows();
  m.indptr.resize(static_cast<size_t>(m.rows + 1));
  for (int64_t r = 0; r <= m.rows; ++r) m.indptr[static_cast<size_t>(r)] = r * a.row_stride();
  m.data = dtype_is_float(a.values.dtype()) ? a.values : a.values.converted(DType::f64);
  return scan(m);
}

// The lowest local row holding a NaN/Inf or negative value, -1 when none. The kernel's
// first_bad_row also counts non-integer values, which are allowed, so the error message needs this
// separate scan; it runs only on the error path.
bool is_fatal(double v) { return !std::isfinite(v) || v < 0; }

int64_t first_fatal_row(const Matrix& matrix) {
  if (auto* m = std::get_if<CsrMatrix>(&matrix)) {
    for (int64_t r = 0; r < m->rows; ++r)
      for (int64_t k = m->indptr[static_cast<size_t>(r)]; k < m->indptr[static_cast<size_t>(r + 1)]; ++k)
        if (is_fatal(m->data.as_double(static_cast<size_t>(k)))) return r;
    return -1;
  }
  const auto& a = std::get<DenseArray>(matrix);
  const int64_t stride = a.row_stride();
  for (size_t i = 0; i < a.values.size(); ++i)
    if (is_fatal(a.values.as_double(i))) return static_cast<int64_t>(i) / stride;
  return -1;
}
}  // namespace

void validate_counts(const Dataset& dataset, const std::string& name) {
  const std::string key = name == "X" ? "X" : "layers/" + name;
  kernels::CountAnomalies local;
  const Matrix& m = dataset.layer(name);   // every rank has the same slots: throws everywhere alike
  local = std::holds_alternative<CsrMatrix>(m) ? scan(std::get<CsrMatrix>(m)) : scan(std::get<DenseArray>(m));
  int64_t counts[3] = {local.non_finite, local.negative, local.non_integer};
  MPI_Allreduce(MPI_IN_PLACE, counts, 3, MPI_INT64_T, MPI_SUM, dataset.comm);
  if (counts[0] > 0 || counts[1] > 0) {
    // Every rank is here (the counts are global), so the reduction below is collective.
    const int64_t fatal_row = local.non_finite > 0 || local.negative > 0 ? first_fatal_row(m) : -1;
    int64_t first = fatal_row >= 0 ? dataset.obs_begin + fatal_row : INT64_MAX;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT64_T, MPI_MIN, dataset.comm);
    std::string what;
    if (counts[0] > 0) what += std::to_string(counts[0]) + " NaN/Inf value(s)";
    if (counts[1] > 0) what += std::string(what.empty() ? "" : " and ") + std::to_string(counts[1]) + " negative value(s)";
    fail(dataset.source, key,
         "expected raw counts but found " + what + " (first in cell " + std::to_string(first) +
             "); pass unnormalised spliced/unspliced counts");
  }
  if (counts[2] > 0)
    log().warn(describe(dataset.source, key, std::to_string(counts[2]) + " non-integer count(s); treating them as counts"));
}

}  // namespace velofield
