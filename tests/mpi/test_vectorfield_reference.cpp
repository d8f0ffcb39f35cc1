// SparseVFC against dynamo's own fits on the pancreas data, given dynamo's inputs (X, Y and its
// control points): β, σ², the field at the cells, the posteriors and the iteration count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "vectorfield_fixture.hpp"

using namespace velofield;
using namespace velofield::test;

TEST(VectorFieldReference, PcaFitMatchesDynamo) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("pca");
  ASSERT_EQ(f.ctrl_cells.size(), 500u);
  const std::string dir = temp_dir();
  const std::string ctrl = write_cell_file(MPI_COMM_WORLD, dir, "ctrl_pca.txt", f.ctrl_cells);
  Dataset d = embedding_dataset(MPI_COMM_WORLD, "pca", f.x, f.y, f.dim);
  run_vectorfield(d, {{"basis", "pca"}, {"ctrl_idx", ctrl}});

  const double beta = uns_number(d, "VecFld_pca/beta"), beta_ref = reference_attr("VecFld_pca_beta");
  const double sigma2 = uns_number(d, "VecFld_pca/sigma2"), sigma2_ref = reference_attr("VecFld_pca_sigma2");
  const double iteration = uns_number(d, "VecFld_pca/iteration");
  const std::vector<double> V = obsm(d, "velocity_pca_SparseVFC").values.to_double();
  const double v_err = relative_frobenius(MPI_COMM_WORLD, V, f.v, d.obs_begin * f.dim);
  const std::vector<double> P = obs_column(d, "inlier_prob_pca");
  double p_err = 0;
  for (int64_t i = 0; i < d.n_obs_local; ++i) p_err = std::max(p_err, std::abs(P[static_cast<size_t>(i)] - f.p[static_cast<size_t>(d.obs_begin + i)]));
  MPI_Allreduce(MPI_IN_PLACE, &p_err, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  const std::vector<double> E = d.uns.at("VecFld_pca/E_traj").array.values.to_double();
  const std::vector<double> E_ref = reference_array("VecFld_pca_E_traj").values.to_double();
  double e_err = 0;
  for (size_t k = 0; k < std::min(E.size(), E_ref.size()); ++k) e_err = std::max(e_err, std::abs(E[k] / E_ref[k] - 1));
  report("pca: beta rel err " + num(std::abs(beta / beta_ref - 1)) + ", sigma2 " + num(sigma2) +
         " vs " + num(sigma2_ref) + " (rel " + num(std::abs(sigma2 / sigma2_ref - 1)) +
         "), V rel Frobenius " + num(v_err) + ", max |P - P_ref| " + num(p_err) +
         ", iteration " + num(iteration) + ", max rel E_traj err " + num(e_err) +
         ", rcond(L) " + num(uns_number(d, "VecFld_pca/rcond_lhs")));
  EXPECT_NEAR(beta / beta_ref, 1.0, 1e-12);
  EXPECT_NEAR(sigma2 / sigma2_ref, 1.0, 1e-3);
  EXPECT_LT(v_err, 5e-3);
  EXPECT_LT(p_err, 1e-2);
  EXPECT_EQ(iteration, reference_attr("VecFld_pca_iteration"));
  EXPECT_EQ(E.size(), E_ref.size());

  // The control points flagged in obs are the given cells (true cell indices, not dynamo's
  // positions in its sorted unique rows).
  const std::vector<double> flag = obs_column(d, "control_point_pca");
  double flagged = 0;
  for (double v : flag) flagged += v;
  MPI_Allreduce(MPI_IN_PLACE, &flagged, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(flagged, 500);
  for (int64_t c : f.ctrl_cells)
    if (c >= d.obs_begin && c < d.obs_begin + d.n_obs_local) {
      EXPECT_EQ(flag[static_cast<size_t>(c - d.obs_begin)], 1);
    }
}

// The stable solve: inputs perturbed by 1e-12 relative move the fitted field by far less than
// dynamo's squared normal equations do (spec section 5, M-step).
TEST(VectorFieldReference, PcaCholeskySolveIsStableUnderTinyPerturbations) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("pca");
  const std::string dir = temp_dir();
  const std::string ctrl = write_cell_file(MPI_COMM_WORLD, dir, "ctrl_pca.txt", f.ctrl_cells);
  auto perturbed = [](std::vector<double> a, uint64_t seed) {
    uint64_t s = seed;
    for (auto& v : a) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      v *= 1 + 1e-12 * ((s >> 63) ? 1 : -1);
    }
    return a;
  };
  auto fit_v = [&](const std::vector<double>& x, const std::vector<double>& y, const std::string& method) {
    Dataset d = embedding_dataset(MPI_COMM_WORLD, "pca", x, y, f.dim);
    run_vectorfield(d, {{"basis", "pca"}, {"ctrl_idx", ctrl}, {"lstsq_method", method}, {"vector_calculus", "false"}});
    return gather_all(MPI_COMM_WORLD, obsm(d, "velocity_pca_SparseVFC").values.to_double());
  };
  auto rel = [](const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0, n = 0;
    for (size_t e = 0; e < a.size(); ++e) {
      s += (a[e] - b[e]) * (a[e] - b[e]);
      n += b[e] * b[e];
    }
    return std::sqrt(s / n);
  };
  const auto xp = perturbed(f.x, 1), yp = perturbed(f.y, 2);
  const double chol = rel(fit_v(xp, yp, "cholesky"), fit_v(f.x, f.y, "cholesky"));
  const double drouin = rel(fit_v(xp, yp, "drouin"), fit_v(f.x, f.y, "drouin"));
  report("1e-12 relative input perturbation moves V by " + num(chol) + " (cholesky) and " +
         num(drouin) + " (drouin, dynamo's squared normal equations)");
  EXPECT_LT(chol, 1e-9);
}

TEST(VectorFieldReference, UmapFitFollowsDynamoDirections) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("umap");
  ASSERT_EQ(f.ctrl_cells.size(), 185u);
  const std::string dir = temp_dir();
  const std::string ctrl = write_cell_file(MPI_COMM_WORLD, dir, "ctrl_umap.txt", f.ctrl_cells);
  Dataset d = embedding_dataset(MPI_COMM_WORLD, "umap", f.x, f.y, f.dim);
  run_vectorfield(d, {{"basis", "umap"}, {"ctrl_idx", ctrl}});
  const std::vector<double> V = obsm(d, "velocity_umap_SparseVFC").values.to_double();
  std::vector<double> cosines;
  for (int64_t i = 0; i < d.n_obs_local; ++i) {
    const double* a = &V[static_cast<size_t>(i * 2)];
    const double* b = &f.v[static_cast<size_t>((d.obs_begin + i) * 2)];
    cosines.push_back((a[0] * b[0] + a[1] * b[1]) / (std::hypot(a[0], a[1]) * std::hypot(b[0], b[1])));
  }
  std::vector<double> all = gather_all(MPI_COMM_WORLD, cosines);
  std::sort(all.begin(), all.end());
  const double median = all[all.size() / 2];
  const double beta = uns_number(d, "VecFld_umap/beta"), beta_ref = reference_attr("VecFld_umap_beta");
  const bool converged = uns_number(d, "VecFld_umap/converged") != 0;
  report("umap: median cosine to dynamo's V " + num(median) + ", 10th percentile " +
         num(all[all.size() / 10]) + ", beta rel err " + num(std::abs(beta / beta_ref - 1)) +
         ", iterations " + num(uns_number(d, "VecFld_umap/iteration") + 1) +
         (converged ? " (converged)" : " (not converged)") + ", sigma2 " + num(uns_number(d, "VecFld_umap/sigma2")) +
         " vs dynamo " + num(reference_attr("VecFld_umap_sigma2")) + ", V rel Frobenius " +
         num(relative_frobenius(MPI_COMM_WORLD, V, f.v, d.obs_begin * 2)));
  EXPECT_NEAR(beta / beta_ref, 1.0, 1e-12);
  EXPECT_GE(median, 0.98);
  // The grid is dynamo's (same margins, same meshgrid order).
  const std::vector<double> grid = d.uns.at("VecFld_umap/grid").array.values.to_double();
  const std::vector<double> grid_ref = reference_array("VecFld_umap_grid").values.to_double();
  ASSERT_EQ(grid.size(), grid_ref.size());
  double g_err = 0;
  for (size_t e = 0; e < grid.size(); ++e) g_err = std::max(g_err, std::abs(grid[e] - grid_ref[e]) / (1 + std::abs(grid_ref[e])));
  EXPECT_LT(g_err, 1e-6);
}
