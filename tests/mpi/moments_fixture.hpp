#pragma once
// The pancreas data as the moments stage sees it after dynamo's preprocessing, built from dynamo's
// own outputs so the stage is compared with dynamo stage by stage: obsm/X_pca = dynamo's X_pca,
// layers X_spliced / X_unspliced = raw counts / dynamo's size factors, var/use_for_pca = dynamo's
// gene selection. Shared by test_knn*.cpp, test_moments*.cpp and test_umap*.cpp.
#include <string>

#include "core/config.hpp"
#include "io/h5ad.hpp"
#include "pipeline/stage.hpp"
#include "reference.hpp"
#include "test_support.hpp"

namespace velofield::test {

// The rows [begin, begin + n) of a CSR layer divided row-wise by `factors` (float64 values).
inline CsrMatrix divided_rows(const CsrMatrix& counts, const DenseArray& factors, int64_t first) {
  CsrMatrix out = counts;
  out.data = Array(DType::f64, static_cast<size_t>(counts.nnz()));
  for (int64_t i = 0; i < counts.rows; ++i) {
    const double f = factors.values.as_double(static_cast<size_t>(first + i));
    for (int64_t k = counts.indptr[static_cast<size_t>(i)]; k < counts.indptr[static_cast<size_t>(i + 1)]; ++k)
      out.data.data<double>()[k] = counts.data.as_double(static_cast<size_t>(k)) / f;
  }
  return out;
}

// Collective. `comm` may be a sub-communicator (MPI_COMM_SELF for a one-rank run inside a
// several-rank test).
inline Dataset pancreas_for_moments(const std::string& path, MPI_Comm comm) {
  Dataset d = read_h5ad(path, comm);
  d.obsm["X_pca"] = rows_of(reference_array("X_pca"), d);
  d.layers["X_spliced"] = divided_rows(d.layer_csr("spliced"), reference_array("obs_spliced_Size_Factor"), d.obs_begin);
  d.layers["X_unspliced"] = divided_rows(d.layer_csr("unspliced"), reference_array("obs_unspliced_Size_Factor"), d.obs_begin);
  const DenseArray use = reference_array("var_use_for_pca");
  std::vector<uint8_t> flags(static_cast<size_t>(d.n_vars));
  for (size_t g = 0; g < flags.size(); ++g) flags[g] = use.values.as_double(g) != 0;
  d.var.set("use_for_pca", Column::numeric(Array::from(flags, DType::boolean)));
  return d;
}

// Runs a registered stage with `section` (key = value lines) as its INI section. Collective.
inline void run_stage(Dataset& d, const std::string& stage_name, const std::string& section = "") {
  register_builtin_stages();
  const Stage* stage = find_stage(stage_name);
  if (!stage) throw Error("test: no stage " + stage_name);
  const Config config = Config::from_string("[" + stage_name + "]\n" + section, "test.ini");
  StageConfig sc(config, stage_name, stage->keys);
  stage->run(d, sc);
}

}  // namespace velofield::test
