// Topography of dynamo's own fitted UMAP field (VecFld_umap_X_ctrl, _C, _beta) on the pancreas
// cells, against dynamo's fixed points (topo_umap_Xss / _ftype / _confidence / _xlim / _ylim):
// every one of dynamo's 18 is found within 1e-3 of the plot range with the same type; any extra
// fixed point is reported with its evidence (residual |f| and eigenvalues: dynamo's search starts
// from 25 random points, so it can miss some).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/config.hpp"
#include "reference.hpp"
#include "test_support.hpp"
#include "topography/topography_stage.hpp"

using namespace velofield;
using namespace velofield::test;

namespace {

void measured(const std::string& line) {
  if (rank() == 0) std::printf("[ measured ] %s\n", line.c_str());
}

UnsNode numeric(const DenseArray& a) { return UnsNode::numeric(a); }

// dynamo's cells and its fitted field as the topography stage reads them.
Dataset pancreas_umap_field(MPI_Comm comm) {
  const DenseArray X = reference_array("VecFld_umap_X");
  Dataset d = Dataset::create(comm, X.shape[0], 1);
  d.source = "pancreas (dynamo's VecFld_umap)";
  d.obsm["X_umap"] = rows_of(X, d);
  UnsNode vf = UnsNode::dict();
  vf["X_ctrl"] = numeric(reference_array("VecFld_umap_X_ctrl"));
  vf["C"] = numeric(reference_array("VecFld_umap_C"));
  vf["beta"] = UnsNode::scalar(reference_attr("VecFld_umap_beta"));
  d.uns["VecFld_umap"] = vf;
  return d;
}

void run_topography(Dataset& d) {
  static const Stage stage = topography_stage();
  Config c;
  StageConfig sc(c, "topography", stage.keys);
  stage.run(d, sc);
}

std::vector<double> values(const Dataset& d, const std::string& key) { return d.uns.at("VecFld_umap/" + key).array.values.to_double(); }

}  // namespace

TEST(TopographyReference, FindsDynamosFixedPointsOnItsUmapField) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  Dataset d = pancreas_umap_field(MPI_COMM_WORLD);
  run_topography(d);
  const std::vector<double> xss = values(d, "Xss"), ftype = values(d, "ftype"), conf = values(d, "confidence");
  const std::vector<double> residual = values(d, "fp_residual"), eig = values(d, "fp_eigenvalues");
  const std::vector<double> xlim = values(d, "xlim"), ylim = values(d, "ylim");
  const std::vector<double> ref_xss = reference_array("topo_umap_Xss").values.to_double();
  const std::vector<double> ref_type = reference_array("topo_umap_ftype").values.to_double();
  const std::vector<double> ref_conf = reference_array("topo_umap_confidence").values.to_double();
  const std::vector<double> ref_xlim = reference_array("topo_umap_xlim").values.to_double();
  const std::vector<double> ref_ylim = reference_array("topo_umap_ylim").values.to_double();
  // dynamo computed the limits from float32 X_umap: equal to float32 rounding.
  for (int k = 0; k < 2; ++k) {
    EXPECT_NEAR(xlim[static_cast<size_t>(k)], ref_xlim[static_cast<size_t>(k)], 1e-6);
    EXPECT_NEAR(ylim[static_cast<size_t>(k)], ref_ylim[static_cast<size_t>(k)], 1e-6);
  }
  const double range = std::max(ref_xlim[1] - ref_xlim[0], ref_ylim[1] - ref_ylim[0]);
  const size_t n = xss.size() / 2, n_ref = ref_xss.size() / 2;
  ASSERT_EQ(n_ref, 18u);
  std::vector<int> matched_by(n, -1);
  double worst = 0;
  int same_type = 0;
  std::vector<std::pair<double, double>> conf_pairs;
  for (size_t r = 0; r < n_ref; ++r) {
    size_t best = 0;
    double bd = 1e300;
    for (size_t k = 0; k < n; ++k) {
      const double dd = std::hypot(xss[2 * k] - ref_xss[2 * r], xss[2 * k + 1] - ref_xss[2 * r + 1]);
      if (dd < bd) {
        bd = dd;
        best = k;
      }
    }
    worst = std::max(worst, bd / range);
    EXPECT_LT(bd / range, 1e-3) << "dynamo's fixed point " << r << " (" << ref_xss[2 * r] << ", " << ref_xss[2 * r + 1] << ")";
    same_type += ftype[best] == ref_type[r];
    if (ftype[best] != ref_type[r]) {
      // dynamo classifies with hybrd's final finite-difference/Broyden Jacobian (spec 6.2.3); the
      // analytic one decides differently only for a spiral that is nearly a centre, where the
      // sign of Re λ is within that approximation's error. Anything else is a real disagreement.
      const double re = eig[4 * best], im = std::abs(eig[4 * best + 1]);
      measured("  type differs at dynamo's point " + std::to_string(r) + ": dynamo " + std::to_string(static_cast<int>(ref_type[r])) +
               ", analytic Jacobian " + std::to_string(static_cast<int>(ftype[best])) + " with eigenvalues " + std::to_string(re) +
               " ± " + std::to_string(im) + "i (|Re|/|λ| = " + std::to_string(std::abs(re) / std::hypot(re, im)) + ")");
      EXPECT_GT(im, 0) << "type of dynamo's fixed point " << r;
      EXPECT_LT(std::abs(re), 0.1 * std::hypot(re, im)) << "type of dynamo's fixed point " << r;
    }
    matched_by[best] = static_cast<int>(r);
    conf_pairs.push_back({conf[best], ref_conf[r]});
  }
  // Confidence: dynamo's formula, normalised by the densest point; compare after normalising both
  // by dynamo's densest fixed point (an extra denser point would rescale ours).
  const size_t ref_top = static_cast<size_t>(std::max_element(ref_conf.begin(), ref_conf.end()) - ref_conf.begin());
  double conf_err = 0;
  for (const auto& [ours, theirs] : conf_pairs)
    conf_err = std::max(conf_err, std::abs(ours / conf_pairs[ref_top].first - theirs / conf_pairs[ref_top].second));
  EXPECT_LT(conf_err, 1e-6);
 EXPECT_GE(same_type, 17);
  measured("pancreas UMAP: " + std::to_string(n) + " fixed points (dynamo 18); worst distance to dynamo's / plot range " +
           std::to_string(worst) + " (limit 1e-3); types equal " + std::to_string(same_type) + "/18; confidence max abs diff " +
           std::to_string(conf_err));
  for (size_t k = 0; k < n; ++k) {
    if (matched_by[k] >= 0) continue;
    measured("  extra fixed point (" + std::to_string(xss[2 * k]) + ", " + std::to_string(xss[2 * k + 1]) + "), ftype " +
             std::to_string(static_cast<int>(ftype[k])) + ", |f| = " + std::to_string(residual[k]) + ", eigenvalues " +
             std::to_string(eig[4 * k]) + (eig[4 * k + 1] != 0 ? "±" + std::to_string(std::abs(eig[4 * k + 1])) + "i" : "") + ", " +
             std::to_string(eig[4 * k + 2]) + ", confidence " + std::to_string(conf[k]));
    EXPECT_LT(residual[k], 1e-8);   // a true root, not a stalled start
  }
  EXPECT_GT(d.uns.at("VecFld_umap/NCx").children.size(), 0u);
  EXPECT_GT(d.uns.at("VecFld_umap/NCy").children.size(), 0u);
}

// The stage's result on the world equals the result of this rank alone.
TEST(TopographyReference, SameAtAnyRankCount) {
  VELOFIELD_REQUIRE_REFERENCE(ref);
  Dataset world = pancreas_umap_field(MPI_COMM_WORLD), self = pancreas_umap_field(MPI_COMM_SELF);
  run_topography(world);
  run_topography(self);
  for (const char* key : {"Xss", "ftype", "confidence", "fp_eigenvalues"}) EXPECT_EQ(values(world, key), values(self, key)) << key;
  EXPECT_TRUE(world.uns.at("VecFld_umap/separatrices") == self.uns.at("VecFld_umap/separatrices"));
}
