#pragma once
// UMAP's low-dimensional similarity 1 / (1 + a d^(2b)), with a and b fitted (least squares, as
// umap-learn's find_ab_params does with scipy's curve_fit) to the curve that is 1 below min_dist
// and exp(-(d - min_dist) / spread) above, on 300 points over [0, 3 spread].
namespace velofield {

struct UmapCurve {
  double a = 0, b = 0;
};

// Levenberg-Marquardt from (a, b) = (1, 1), curve_fit's start. Throws when it does not converge.
UmapCurve fit_umap_curve(double spread, double min_dist);

}  // namespace velofield
