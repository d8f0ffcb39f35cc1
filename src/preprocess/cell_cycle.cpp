#include "preprocess/cell_cycle.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "preprocess/csr_access.hpp"
#include "preprocess/pca.hpp"

namespace velofield::preprocess {

namespace {

// Python's str.isupper / "Capitalised" tests on ASCII names.
bool is_upper(const std::string& s) {
  bool cased = false;
  for (unsigned char c : s) {
    if (std::islower(c)) return false;
    cased = cased || std::isupper(c);
  }
  return cased;
}

bool is_lower(const std::string& s) {
  bool cased = false;
  for (unsigned char c : s) {
    if (std::isupper(c)) return false;
    cased = cased || std::islower(c);
  }
  return cased;
}

constexpr int kPhases = 5;

}  // namespace

std::vector<std::string> adapt_marker_case(const std::vector<std::string>& markers, const std::string& first_gene) {
  std::vector<std::string> out = markers;
  if (is_upper(first_gene)) return out;
  const bool capitalised = !first_gene.empty() && std::isupper(static_cast<unsigned char>(first_gene[0])) &&
                           is_lower(first_gene.substr(1));
  for (auto& m : out) {
    for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (capitalised && !m.empty()) m[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(m[0])));
  }
  return out;
}

CellCycleResult score_cell_cycle(MPI_Comm comm, int64_t n_obs, int64_t first_row, const CsrMatrix& X,
                                 const std::vector<std::string>& var_names, double threshold) {
  CellCycleResult out;
  const auto& phases = cell_cycle_phases();
  const int64_t G = static_cast<int64_t>(var_names.size());
  // Markers present in the data, in var order (pandas' Index.intersection keeps the caller's order).
  std::vector<std::vector<int64_t>> present(kPhases);
  {
    std::unordered_map<std::string, int64_t> where;
    for (int64_t g = G - 1; g >= 0; --g) where[var_names[static_cast<size_t>(g)]] = g;
    for (int p = 0; p < kPhases; ++p) {
      for (const auto& name : adapt_marker_case(phases[static_cast<size_t>(p)].markers, G ? var_names[0] : "")) {
        auto it = where.find(name);
        if (it != where.end()) present[static_cast<size_t>(p)].push_back(it->second);
      }
      auto& v = present[static_cast<size_t>(p)];
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      if (v.empty()) {
        out.skipped_because = "no marker gene of phase " + phases[static_cast<size_t>(p)].name + " is in the data";
        return out;
      }
    }
  }
  // gene → (phase, position in that phase's list), for the marker genes.
  std::vector<std::vector<std::pair<int, int>>> slots(static_cast<size_t>(G));
  std::vector<int> offset(kPhases + 1, 0);
  for (int p = 0; p < kPhases; ++p) {
    const auto& v = present[static_cast<size_t>(p)];
    for (size_t t = 0; t < v.size(); ++t) slots[static_cast<size_t>(v[t])].push_back({p, static_cast<int>(t)});
    offset[static_cast<size_t>(p + 1)] = offset[static_cast<size_t>(p)] + static_cast<int>(v.size());
  }
  const int M = offset[kPhases];
  // Correlation sums: per marker slot Σx, Σx², Σx·a; per phase Σa, Σa².
  std::vector<double> sums(static_cast<size_t>(3 * M + 2 * kPhases), 0.0);
  double* Sx = sums.data();
  double* Sxx = Sx + M;
  double* Sxa = Sxx + M;
  double* Sa = Sxa + M;
  double* Saa = Sa + kPhases;
  const int64_t rows = X.rows;
  visit_csr(X, [&](const int64_t* indptr, const auto* idx, const auto* val) {
    for (int64_t i = 0; i < rows; ++i) {
      double a[kPhases] = {};
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k)
        for (const auto& s : slots[static_cast<size_t>(idx[k])]) a[s.first] += static_cast<double>(val[k]);
      for (int p = 0; p < kPhases; ++p) {
        a[p] /= static_cast<double>(present[static_cast<size_t>(p)].size());
        Sa[p] += a[p];
        Saa[p] += a[p] * a[p];
      }
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k)
        for (const auto& s : slots[static_cast<size_t>(idx[k])]) {
          const double x = static_cast<double>(val[k]);
          const int at = offset[static_cast<size_t>(s.first)] + s.second;
          Sx[at] += x;
          Sxx[at] += x * x;
          Sxa[at] += x * a[s.first];
        }
    }
  });
  reduce_sum_identical(comm, sums.data(), static_cast<int64_t>(sums.size()));
  const double n = static_cast<double>(n_obs);
  std::vector<std::vector<int64_t>> refined(kPhases);
  for (int p = 0; p < kPhases; ++p) {
    const auto& v = present[static_cast<size_t>(p)];
    for (size_t t = 0; t < v.size(); ++t) {
      const int at = offset[static_cast<size_t>(p)] + static_cast<int>(t);
      const double cov = n * Sxa[at] - Sx[at] * Sa[p];
      const double vx = n * Sxx[at] - Sx[at] * Sx[at];
      const double va = n * Saa[p] - Sa[p] * Sa[p];
      const double r = cov / std::sqrt(vx * va);
      if (r >= threshold) refined[static_cast<size_t>(p)].push_back(v[t]);
    }
    if (refined[static_cast<size_t>(p)].empty()) {
      out.skipped_because = "no marker gene of phase " + phases[static_cast<size_t>(p)].name +
                            " correlates with the phase average at >= " + std::to_string(threshold);
      return out;
    }
  }
  // Phase scores: sums of the refined markers, z-scored over cells (population std).
  std::vector<std::vector<int8_t>> member(static_cast<size_t>(G));
  for (int p = 0; p < kPhases; ++p)
    for (int64_t g : refined[static_cast<size_t>(p)]) member[static_cast<size_t>(g)].push_back(static_cast<int8_t>(p));
  std::vector<double> raw(static_cast<size_t>(rows * kPhases), 0.0);
  visit_csr(X, [&](const int64_t* indptr, const auto* idx, const auto* val) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k)
        for (int8_t p : member[static_cast<size_t>(idx[k])]) raw[static_cast<size_t>(i * kPhases + p)] += static_cast<double>(val[k]);
  });
  // Mean and population std of each phase score over all cells, summed in global cell order on
  // rank 0: the same bits at any rank count, so the progress ranking below cannot flip between
  // near-tied cells when the ranks change.
  int size = 1, rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size), 0);
  const int local = static_cast<int>(rows);
  MPI_Allgather(&local, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  for (int r = 1; r < size; ++r) displs[static_cast<size_t>(r)] = displs[static_cast<size_t>(r - 1)] + counts[static_cast<size_t>(r - 1)];
  double mean[kPhases], sd[kPhases];
  {
    std::vector<int> c5(counts), d5(displs);
    for (auto& v : c5) v *= kPhases;
    for (auto& v : d5) v *= kPhases;
    std::vector<double> all(rank == 0 ? static_cast<size_t>(n_obs * kPhases) : 0);
    MPI_Gatherv(raw.data(), local * kPhases, MPI_DOUBLE, all.data(), c5.data(), d5.data(), MPI_DOUBLE, 0, comm);
    double moments[2 * kPhases] = {};
    if (rank == 0) {
      for (int64_t i = 0; i < n_obs; ++i)
        for (int p = 0; p < kPhases; ++p) moments[p] += all[static_cast<size_t>(i * kPhases + p)];
      for (int p = 0; p < kPhases; ++p) moments[p] /= n;
      for (int64_t i = 0; i < n_obs; ++i)
        for (int p = 0; p < kPhases; ++p) {
          const double dev = all[static_cast<size_t>(i * kPhases + p)] - moments[p];
          moments[kPhases + p] += dev * dev;
        }
    }
    MPI_Bcast(moments, 2 * kPhases, MPI_DOUBLE, 0, comm);
    for (int p = 0; p < kPhases; ++p) {
      mean[p] = moments[p];
      sd[p] = std::sqrt(moments[kPhases + p] / n);
    }
  }
  out.scores = DenseArray::zeros({rows, kPhases}, DType::f64);
  double* S = out.scores.values.data<double>();
  out.phase.assign(static_cast<size_t>(rows), 0);
  out.progress.assign(static_cast<size_t>(rows), 0.0);
  const double corr_scale = 1.0 / std::sqrt(3.2);
  for (int64_t i = 0; i < rows; ++i) {
    double z[kPhases], m = 0;
    for (int p = 0; p < kPhases; ++p) {
      z[p] = (raw[static_cast<size_t>(i * kPhases + p)] - mean[p]) / sd[p];
      m += z[p] / kPhases;
    }
    double ss = 0;
    for (int p = 0; p < kPhases; ++p) ss += (z[p] - m) * (z[p] - m);
    const double s = std::sqrt(ss / (kPhases - 1));
    int best = 0;
    for (int p = 0; p < kPhases; ++p) {
      S[i * kPhases + p] = (z[p] - m) / s * corr_scale;
      if (S[i * kPhases + p] > S[i * kPhases + best]) best = p;
    }
    out.phase[static_cast<size_t>(i)] = static_cast<int8_t>(best);
    out.progress[static_cast<size_t>(i)] =
        S[i * kPhases + (best + kPhases - 1) % kPhases] - S[i * kPhases + (best + 1) % kPhases];
  }
  // Order within each phase: every rank needs every cell's (phase, progress).
  std::vector<double> all_progress(static_cast<size_t>(n_obs));
  std::vector<int8_t> all_phase(static_cast<size_t>(n_obs));
  MPI_Allgatherv(out.progress.data(), local, MPI_DOUBLE, all_progress.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  MPI_Allgatherv(out.phase.data(), local, MPI_INT8_T, all_phase.data(), counts.data(), displs.data(), MPI_INT8_T, comm);
  std::vector<int64_t> order(static_cast<size_t>(n_obs));
  std::iota(order.begin(), order.end(), int64_t{0});
  // Phase, then progress descending (NaN last), then cell order: pandas' stable multi-key sort.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const auto pa = all_phase[static_cast<size_t>(a)], pb = all_phase[static_cast<size_t>(b)];
    if (pa != pb) return pa < pb;
    const double va = all_progress[static_cast<size_t>(a)], vb = all_progress[static_cast<size_t>(b)];
    if (std::isnan(va) || std::isnan(vb)) return !std::isnan(va) && std::isnan(vb);
    return va > vb;
  });
  std::vector<int64_t> phase_size(kPhases, 0);
  for (int8_t p : all_phase) phase_size[static_cast<size_t>(p)]++;
  out.order.assign(static_cast<size_t>(rows), 0.0);
  int64_t in_phase = 0;
  for (size_t t = 0; t < order.size(); ++t) {
    if (t > 0 && all_phase[static_cast<size_t>(order[t])] != all_phase[static_cast<size_t>(order[t - 1])]) in_phase = 0;
    const int64_t g = order[t];
    if (g >= first_row && g < first_row + rows) {
      const double denom = static_cast<double>(phase_size[static_cast<size_t>(all_phase[static_cast<size_t>(g)])] - 1);
      out.order[static_cast<size_t>(g - first_row)] = static_cast<double>(in_phase) / denom;
    }
    ++in_phase;
  }
  for (int p = 0; p < kPhases; ++p)
    for (int64_t g : refined[static_cast<size_t>(p)]) out.genes.resize(kPhases), out.genes[static_cast<size_t>(p)].push_back(var_names[static_cast<size_t>(g)]);
  out.scored = true;
  return out;
}

}  // namespace velofield::preprocess
