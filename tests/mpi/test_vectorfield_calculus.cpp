// Vector calculus of fitted fields against closed forms: a planted linear field f(x) = A x is
// recovered (values and Jacobian A), a rotation has curl 2ω and no divergence, the analytic
// Jacobian equals a central finite difference, divergence = tr J and acceleration = J f.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rkhs_field.hpp"
#include "vectorfield/fitted_field.hpp"
#include "vectorfield_fixture.hpp"

using namespace velofield;
using namespace velofield::test;

namespace {

// n cells uniform in [-1, 1]^dim (deterministic), y = A x + noise (sd `noise`), and the truth A x.
// Noise-free data would drive SparseVFC's sigma2 towards 0, where its regularisation λσ²K vanishes
// and the M-step matrix becomes singular: real velocities are noisy, and so are these.
void planted_linear(int64_t n, int64_t dim, const std::vector<double>& A, double noise, std::vector<double>& x,
                    std::vector<double>& y, std::vector<double>& truth) {
  x.resize(static_cast<size_t>(n * dim));
  truth.assign(static_cast<size_t>(n * dim), 0.0);
  uint64_t s = 12345;
  auto uniform = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (static_cast<double>(s >> 11) + 0.5) * 0x1.0p-53;
  };
  for (auto& v : x) v = 2 * uniform() - 1;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < dim; ++p)
      for (int64_t q = 0; q < dim; ++q) truth[static_cast<size_t>(i * dim + p)] += A[static_cast<size_t>(p * dim + q)] * x[static_cast<size_t>(i * dim + q)];
  y = truth;
  for (auto& v : y) v += noise * std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
}

// Cells well inside the box (|x_q| < 0.5 for every q), where the fit is not pulled by the edge.
std::vector<int64_t> interior_cells(const std::vector<double>& x, int64_t dim, int64_t limit) {
  std::vector<int64_t> out;
  const int64_t n = static_cast<int64_t>(x.size()) / dim;
  for (int64_t i = 0; i < n && static_cast<int64_t>(out.size()) < limit; ++i) {
    bool inside = true;
    for (int64_t q = 0; q < dim; ++q) inside = inside && std::abs(x[static_cast<size_t>(i * dim + q)]) < 0.5;
    if (inside) out.push_back(i);
  }
  return out;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t c : v) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

}  // namespace

TEST(VectorFieldCalculus, PlantedLinearFieldIsRecovered) {
  for (int64_t dim : {2, 3}) {
    const std::vector<double> A = dim == 2 ? std::vector<double>{-0.5, 1.0, -0.8, -0.3}
                                           : std::vector<double>{-0.5, 1.0, 0.2, -0.8, -0.3, 0.4, 0.1, -0.6, -0.7};
    std::vector<double> x, y, truth;
    planted_linear(3000, dim, A, 0.01, x, y, truth);
    const auto inner = interior_cells(x, dim, 50);
    Dataset d = embedding_dataset(MPI_COMM_WORLD, "lin", x, y, dim);
    run_vectorfield(d, {{"basis", "lin"}, {"M", "300"}, {"jacobian_cells", join(inner)}});
    const double v_err = relative_frobenius(MPI_COMM_WORLD, obsm(d, "velocity_lin_SparseVFC").values.to_double(), truth,
                                            d.obs_begin * dim);
    const std::vector<double> J = d.uns.at("jacobian_lin/jacobian").array.values.to_double();
    const int64_t n = static_cast<int64_t>(inner.size());
    double cell_err = 0, a_norm = 0, mean_err = 0;
    for (double a : A) a_norm += a * a;
    a_norm = std::sqrt(a_norm);
    for (int64_t pq = 0; pq < dim * dim; ++pq) {
      double mean = 0;
      for (int64_t k = 0; k < n; ++k) mean += J[static_cast<size_t>(pq * n + k)] / static_cast<double>(n);
      mean_err += std::pow(mean - A[static_cast<size_t>(pq)], 2);
    }
    mean_err = std::sqrt(mean_err) / a_norm;
    for (int64_t k = 0; k < n; ++k) {
      double e = 0;
      for (int64_t pq = 0; pq < dim * dim; ++pq) e += std::pow(J[static_cast<size_t>(pq * n + k)] - A[static_cast<size_t>(pq)], 2);
      cell_err = std::max(cell_err, std::sqrt(e) / a_norm);
    }
    report(std::to_string(dim) + "-D planted linear field (noise sd 0.01): |V - Ax| / |Ax| " + num(v_err) +
           ", |mean J - A| / |A| over 50 interior cells " + num(mean_err) + ", worst cell " + num(cell_err));
    EXPECT_LT(v_err, 1e-2);
    EXPECT_LT(mean_err, 1e-2);
    EXPECT_LT(cell_err, 0.1);
  }
}

TEST(VectorFieldCalculus, RotationHasCurlTwoOmegaAndNoDivergence) {
  // 2-D: f = ω (-y, x), curl 2ω. 3-D: f = Ω × x with Ω = (0.3, -0.2, 0.5), curl 2Ω.
  const double w = 0.7;
  const std::vector<double> A2{0, -w, w, 0};
  const std::vector<double> A3{0, -0.5, -0.2, 0.5, 0, -0.3, 0.2, 0.3, 0};
  for (int64_t dim : {2, 3}) {
    std::vector<double> x, y, truth;
    planted_linear(3000, dim, dim == 2 ? A2 : A3, 0.01, x, y, truth);
    Dataset d = embedding_dataset(MPI_COMM_WORLD, "rot", x, y, dim);
    run_vectorfield(d, {{"basis", "rot"}, {"M", "300"}});
    const std::vector<double> div = obs_column(d, "divergence_rot");
    std::vector<double> curl = dim == 2 ? obs_column(d, "curl_rot") : obsm(d, "curl_rot").values.to_double();
    const double expect[3] = {0.6, -0.4, 1.0};
    const int64_t width = dim == 2 ? 1 : 3;
    const double magnitude = dim == 2 ? 2 * w : std::sqrt(1.52);
    double sums[5] = {0, 0, 0, 0, 0};   // interior cells, Σ curl (3 components), Σ |div|
    for (int64_t i = 0; i < d.n_obs_local; ++i) {
      const double* xi = &x[static_cast<size_t>((d.obs_begin + i) * dim)];
      bool inside = true;
      for (int64_t q = 0; q < dim; ++q) inside = inside && std::abs(xi[q]) < 0.5;
      if (!inside) continue;
      sums[0] += 1;
      for (int64_t c = 0; c < width; ++c) sums[1 + c] += curl[static_cast<size_t>(i * width + c)];
      sums[4] += std::abs(div[static_cast<size_t>(i)]);
    }
    MPI_Allreduce(MPI_IN_PLACE, sums, 5, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double curl_err = 0;
    for (int64_t c = 0; c < width; ++c) curl_err += std::pow(sums[1 + c] / sums[0] - (dim == 2 ? 2 * w : expect[c]), 2);
    curl_err = std::sqrt(curl_err) / magnitude;
    const double div_mean = sums[4] / sums[0] / magnitude;
    report(std::to_string(dim) + "-D rotation (noise sd 0.01): |mean curl - 2ω| / |2ω| " + num(curl_err) +
           ", mean |divergence| / |2ω| " + num(div_mean) + " over " + num(sums[0]) + " interior cells");
    EXPECT_LT(curl_err, 1e-2);
    EXPECT_LT(div_mean, 5e-2);
  }
}

// On the pancreas PCA fit (30-D): the analytic Jacobian equals a central finite difference of the
// fitted f; the stage's divergence (GEMM route) is tr J of the per-cell kernel, its acceleration J f.
TEST(VectorFieldCalculus, JacobianDivergenceAndAccelerationOfThePancreasFit) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("pca");
  const std::string dir = temp_dir();
  const std::string ctrl = write_cell_file(MPI_COMM_WORLD, dir, "ctrl_pca.txt", f.ctrl_cells);
  const std::vector<int64_t> cells{0, 17, 400, 1234, 2000, 2900, 3695};
  Dataset d = embedding_dataset(MPI_COMM_WORLD, "pca", f.x, f.y, f.dim);
  run_vectorfield(d, {{"basis", "pca"}, {"ctrl_idx", ctrl}, {"jacobian_cells", join(cells)}});
  const int64_t D = f.dim, n = static_cast<int64_t>(cells.size());
  const std::vector<double> J = d.uns.at("jacobian_pca/jacobian").array.values.to_double();
  const std::vector<double> X_ctrl = d.uns.at("VecFld_pca/X_ctrl").array.values.to_double();
  const std::vector<double> C = d.uns.at("VecFld_pca/C").array.values.to_double();
  const double beta = uns_number(d, "VecFld_pca/beta");
  const kernels::RkhsField field{static_cast<int64_t>(X_ctrl.size()) / D, D, X_ctrl.data(), C.data(), beta};
  const std::vector<double> div = gather_all(MPI_COMM_WORLD, obs_column(d, "divergence_pca"));
  const std::vector<double> acc = gather_all(MPI_COMM_WORLD, obsm(d, "acceleration_pca").values.to_double());
  const std::vector<double> V = gather_all(MPI_COMM_WORLD, obsm(d, "velocity_pca_SparseVFC").values.to_double());
  double fd_err = 0, div_err = 0, acc_err = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = cells[static_cast<size_t>(k)];
    std::vector<double> jk(static_cast<size_t>(D * D));
    for (int64_t p = 0; p < D; ++p)
      for (int64_t q = 0; q < D; ++q) jk[static_cast<size_t>(p * D + q)] = J[static_cast<size_t>((p * D + q) * n + k)];
    // Central differences, step 1e-4 (coordinates are O(10), the bandwidth ~ 8).
    const double h = 1e-4;
    double scale = 0, err = 0;
    for (int64_t q = 0; q < D; ++q) {
      std::vector<double> xp(f.x.begin() + c * D, f.x.begin() + (c + 1) * D), xm = xp, fp(static_cast<size_t>(D)), fm(static_cast<size_t>(D));
      xp[static_cast<size_t>(q)] += h;
      xm[static_cast<size_t>(q)] -= h;
      kernels::rkhs_field_values(field, 1, xp.data(), fp.data());
      kernels::rkhs_field_values(field, 1, xm.data(), fm.data());
      for (int64_t p = 0; p < D; ++p) {
        const double fd = (fp[static_cast<size_t>(p)] - fm[static_cast<size_t>(p)]) / (2 * h);
        err = std::max(err, std::abs(fd - jk[static_cast<size_t>(p * D + q)]));
        scale = std::max(scale, std::abs(fd));
      }
    }
    fd_err = std::max(fd_err, err / scale);
    double trace = 0, tr_scale = 0;
    for (int64_t p = 0; p < D; ++p) {
      trace += jk[static_cast<size_t>(p * D + p)];
      tr_scale += std::abs(jk[static_cast<size_t>(p * D + p)]);
    }
    div_err = std::max(div_err, std::abs(div[static_cast<size_t>(c)] - trace) / tr_scale);
    for (int64_t p = 0; p < D; ++p) {
      double jf = 0, jf_scale = 0;
      for (int64_t q = 0; q < D; ++q) {
        jf += jk[static_cast<size_t>(p * D + q)] * V[static_cast<size_t>(c * D + q)];
        jf_scale += std::abs(jk[static_cast<size_t>(p * D + q)] * V[static_cast<size_t>(c * D + q)]);
      }
      acc_err = std::max(acc_err, std::abs(acc[static_cast<size_t>(c * D + p)] - jf) / jf_scale);
    }
  }
  report("pancreas pca fit at 7 cells: max |J - central FD| / max|FD| " + num(fd_err) +
         ", max |div - tr J| / Σ|J_pp| " + num(div_err) + ", max |a - J f| / Σ|J_pq f_q| " + num(acc_err));
  EXPECT_LT(fd_err, 1e-6);
  EXPECT_LT(div_err, 1e-10);
  EXPECT_LT(acc_err, 1e-10);
}

// Gene-space Jacobians q_e J q_r from the PCA loadings (uns PCs, rows = the use_for_pca genes):
// at requested cells they equal the contraction of the full d × d Jacobians stored beside them;
// without requested cells they cover every cell. A gene outside the PCA is an error naming it.
TEST(VectorFieldCalculus, GeneJacobiansAreLoadingContractionsOfJ) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  const DynamoFit f = dynamo_fit("pca");
  const std::string dir = temp_dir();
  const std::string ctrl = write_cell_file(MPI_COMM_WORLD, dir, "ctrl_pca.txt", f.ctrl_cells);
  const int64_t D = f.dim, G = 5;
  auto with_loadings = [&](MPI_Comm comm) {
    Dataset d = embedding_dataset(comm, "pca", f.x, f.y, D, G);
    d.var.set("use_for_pca", Column::numeric(Array::from(std::vector<uint8_t>{1, 1, 0, 1, 1}, DType::boolean)));
    std::vector<double> pcs(static_cast<size_t>(4 * D));
    for (size_t e = 0; e < pcs.size(); ++e) pcs[e] = std::sin(0.37 * static_cast<double>(e) + 1.0) / std::sqrt(static_cast<double>(D));
    DenseArray a;
    a.shape = {4, D};
    a.values = Array::from(pcs);
    d.uns["PCs"] = UnsNode::numeric(a);
    return std::make_pair(std::move(d), pcs);
  };
  const std::vector<int64_t> cells{3, 1500, 3690};
  auto [d, pcs] = with_loadings(MPI_COMM_WORLD);
  run_vectorfield(d, {{"basis", "pca"}, {"ctrl_idx", ctrl}, {"jacobian_cells", join(cells)},
                      {"regulators", "gene_0,gene_3"}, {"effectors", "gene_4"}, {"vector_calculus", "false"}});
  const std::vector<double> J = d.uns.at("jacobian_pca/jacobian").array.values.to_double();
  const DenseArray& gene = d.uns.at("jacobian_pca/jacobian_gene").array;
  ASSERT_EQ(gene.shape, (std::vector<int64_t>{1, 2, 3}));
  const std::vector<double> jg = gene.values.to_double();
  const int64_t reg_rows[2] = {0, 2}, eff_row = 3, n = 3;   // PCs rows of gene_0, gene_3, gene_4
  double worst = 0;
  for (int64_t k = 0; k < n; ++k)
    for (int64_t r = 0; r < 2; ++r) {
      double s = 0, scale = 0;
      for (int64_t p = 0; p < D; ++p)
        for (int64_t q = 0; q < D; ++q) {
          const double t = pcs[static_cast<size_t>(eff_row * D + p)] * J[static_cast<size_t>((p * D + q) * n + k)] * pcs[static_cast<size_t>(reg_rows[r] * D + q)];
          s += t;
          scale += std::abs(t);
        }
      worst = std::max(worst, std::abs(jg[static_cast<size_t>(r * n + k)] - s) / scale);
    }
  report("gene-space Jacobian vs contraction of the full J: max rel diff " + num(worst));
  EXPECT_LT(worst, 1e-12);

  // Every cell when no cell is listed; the requested cells' values reappear at their positions.
  auto [all, pcs2] = with_loadings(MPI_COMM_WORLD);
  run_vectorfield(all, {{"basis", "pca"}, {"ctrl_idx", ctrl}, {"regulators", "gene_0,gene_3"}, {"effectors", "gene_4"},
                        {"vector_calculus", "false"}});
  const DenseArray& every = all.uns.at("jacobian_pca/jacobian_gene").array;
  ASSERT_EQ(every.shape, (std::vector<int64_t>{1, 2, f.n}));
  EXPECT_FALSE(all.uns.contains("jacobian_pca/jacobian"));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t r = 0; r < 2; ++r)
      EXPECT_NEAR(every.values.as_double(static_cast<size_t>(r * f.n + cells[static_cast<size_t>(k)])), jg[static_cast<size_t>(r * n + k)],
                  1e-12 * std::abs(jg[static_cast<size_t>(r * n + k)]) + 1e-300);

  auto [bad, pcs3] = with_loadings(MPI_COMM_WORLD);
  EXPECT_EQ(error_of([&] { run_vectorfield(bad, {{"basis", "pca"}, {"ctrl_idx", ctrl}, {"regulators", "gene_2"}}); }),
            "--vectorfield.regulators: gene 'gene_2' was not used for the PCA (var/use_for_pca is false)");
}

// The stored field read back (what topography and perturbation evaluate) reproduces the field at
// the cells; a missing field is an error naming the slot.
TEST(VectorFieldCalculus, StoredFieldEvaluatesToTheCellValues) {
  std::vector<double> x, y, truth;
  planted_linear(2000, 2, {-0.5, 1.0, -0.8, -0.3}, 0.01, x, y, truth);
  Dataset d = embedding_dataset(MPI_COMM_WORLD, "lin", x, y, 2);
  EXPECT_EQ(error_of([&] { fitted_field(d, "lin"); }), "uns/VecFld_lin: not present: run the vectorfield stage with basis = lin first");
  run_vectorfield(d, {{"basis", "lin"}, {"M", "100"}, {"vector_calculus", "false"}});
  const FittedField f = fitted_field(d, "lin");
  ASSERT_EQ(f.M, 100);
  ASSERT_EQ(f.dim, 2);
  std::vector<double> values(static_cast<size_t>(d.n_obs_local * 2));
  kernels::rkhs_field_values(f.view(), d.n_obs_local, x.data() + d.obs_begin * 2, values.data());
  const std::vector<double> V = obsm(d, "velocity_lin_SparseVFC").values.to_double();
  double worst = 0, scale = 0;
  for (size_t e = 0; e < V.size(); ++e) {
    worst = std::max(worst, std::abs(values[e] - V[e]));
    scale = std::max(scale, std::abs(V[e]));
  }
  MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &scale, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_LT(worst, 1e-12 * scale);
}
