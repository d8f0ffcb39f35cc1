#include "neighbors/approx_knn.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <memory>

#include "core/log.hpp"
#include "knn_tile.hpp"
#include "neighbors/exact_knn.hpp"

namespace velofield {

KnnGraph approx_knn(const KnnPoints& points, int k, const HnswOptions& options, ApproxKnnReport* report) {
  const int dim = points.dim;
  const int64_t n_local = points.n_local(), first = points.first();
  // hnswlib works in float32; the candidates' distances are recomputed in double below, so the
  // lists and the graph carry the same distances the exact search would. Zero columns pad the
  // points to a multiple of 16 (or 4) floats: hnswlib's SIMD distance then has no scalar tail
  // (30 → 32 dimensions), and zeros change no distance.
  const int padded = dim > 16 ? (dim + 15) / 16 * 16 : (dim + 3) / 4 * 4;
  std::vector<float> local_f(static_cast<size_t>(n_local * padded), 0.0f);
  for (int64_t i = 0; i < n_local; ++i)
    for (int c = 0; c < dim; ++c) local_f[static_cast<size_t>(i * padded + c)] = static_cast<float>(points.local[static_cast<size_t>(i * dim + c)]);
  hnswlib::L2Space space(static_cast<size_t>(padded));
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
  if (n_local > 0) {
    index = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, static_cast<size_t>(n_local), static_cast<size_t>(options.m),
                                                              static_cast<size_t>(options.ef_construction),
                                                              static_cast<size_t>(options.seed + 100));
    for (int64_t i = 0; i < n_local; ++i) {
      index->addPoint(local_f.data() + i * padded, static_cast<hnswlib::labeltype>(i));
      if (n_local >= 100000) log().progress("kNN (approx): index insertions on rank 0", i + 1, n_local);
    }
  }
  const double* data = points.local.data();
  LocalSearch search = [&](int64_t n, const double* queries, const int64_t* ids, int others, double* best_dist2,
                           int64_t* best_ids) {
    if (!index) return;
    std::vector<float> q(static_cast<size_t>(padded), 0.0f);
    std::vector<double> cand_d2;
    for (int64_t i = 0; i < n; ++i) {
      for (int c = 0; c < dim; ++c) q[static_cast<size_t>(c)] = static_cast<float>(queries[i * dim + c]);
      // One more than needed: the query itself is among the answers when it lives here.
      auto found = index->searchKnn(q.data(), static_cast<size_t>(std::min<int64_t>(others + 1, n_local)));
      std::vector<int64_t> cand_ids;
      cand_ids.reserve(found.size());
      while (!found.empty()) {
        cand_ids.push_back(first + static_cast<int64_t>(found.top().second));
        found.pop();
      }
      for (int64_t id : cand_ids) {
        if (id == ids[i]) continue;
        // The same sum, in the same order, as the tile kernel: equal pairs give equal bits.
        const double* p = data + (id - first) * dim;
        double d2 = 0;
        for (int c = 0; c < dim; ++c) {
          const double diff = queries[i * dim + c] - p[c];
          d2 += diff * diff;
        }
        merge_candidate(d2, id, others, best_dist2 + i * others, best_ids + i * others);
      }
      if (n >= 100000) log().progress("kNN (approx): queries answered on rank 0", i + 1, n);
    }
  };
  auto search_with = [&](int ef, std::vector<double> query_points, std::vector<int64_t> query_ids) {
    if (index) index->setEf(static_cast<size_t>(std::max(ef, k)));
    QueryLists lists;
    lists.points = std::move(query_points);
    lists.ids = std::move(query_ids);
    lists.dist2.resize(static_cast<size_t>(lists.size() * (k - 1)));
    lists.best.resize(static_cast<size_t>(lists.size() * (k - 1)));
    kernels::knn_lists_reset(lists.size(), k - 1, lists.dist2.data(), lists.best.data());
    ring_search(points.comm, dim, k - 1, lists, search);
    return lists;
  };

  // The recall sample: evenly spaced global cells (the same at any rank count), exact lists.
  const int64_t n_total = points.partition.total;
  const int64_t sample = std::min(options.sample, n_total);
  std::vector<double> s_points;
  std::vector<int64_t> s_ids;
  for (int64_t s = 0; s < sample; ++s) {
    const int64_t g = s * n_total / sample;
    if (g < first || g >= first + n_local) continue;
    s_ids.push_back(g);
    s_points.insert(s_points.end(), points.local.begin() + (g - first) * dim, points.local.begin() + (g - first + 1) * dim);
  }
  QueryLists truth;
  if (sample > 0) truth = exact_lists_for(points, k, s_points, s_ids);
  auto recall_of = [&](const QueryLists& found) {
    double hits[2] = {0, 0};
    for (int64_t q = 0; q < truth.size(); ++q) {
      std::vector<int64_t> t(truth.best.begin() + q * (k - 1), truth.best.begin() + (q + 1) * (k - 1));
      std::sort(t.begin(), t.end());
      for (int j = 0; j < k - 1; ++j) hits[0] += std::binary_search(t.begin(), t.end(), found.best[static_cast<size_t>(q * (k - 1) + j)]);
      hits[1] += k - 1;
    }
    MPI_Allreduce(MPI_IN_PLACE, hits, 2, MPI_DOUBLE, MPI_SUM, points.comm);
    return hits[1] > 0 ? hits[0] / hits[1] : -1.0;
  };

  int ef = options.ef_search;
  double recall = -1;
  if (ef <= 0 && sample > 0) {
    // Growing by half each step: the query cost is about linear in ef, so overshooting the needed
    // list by up to 1.5x (not 2x) bounds the waste.
    for (ef = std::max(k, 32);; ef += ef / 2) {
      recall = recall_of(search_with(ef, s_points, s_ids));
      log().info(cat("kNN (approx): search list ", ef, ": recall ", recall, " on ", sample, " cells"));
      if (recall >= options.target_recall) break;
      if (ef + ef / 2 > options.max_ef) {
        log().warn(cat("kNN (approx): recall ", recall, " is below the target ", options.target_recall,
                       " at the largest search list (", ef, "); raise hnsw_max_ef or hnsw_M, or use exact search"));
        break;
      }
    }
  } else if (ef <= 0) {
    ef = 4 * k;
  }

  std::vector<int64_t> ids(static_cast<size_t>(n_local));
  for (int64_t i = 0; i < n_local; ++i) ids[static_cast<size_t>(i)] = first + i;
  QueryLists lists = search_with(ef, points.local, std::move(ids));
  // The sample's final lists are the ones just found (same index, same list size): its recall is
  // measured on them, not on a rerun.
  if (sample > 0) {
    QueryLists found;
    for (int64_t g : s_ids) {
      const int64_t i = g - first;
      found.best.insert(found.best.end(), lists.best.begin() + i * (k - 1), lists.best.begin() + (i + 1) * (k - 1));
    }
    recall = recall_of(found);
  }
  if (report) *report = {ef, recall, sample};
  return graph_from_lists(lists, k);
}

}  // namespace velofield
