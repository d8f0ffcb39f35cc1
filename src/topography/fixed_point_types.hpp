#pragma once
// What kind of fixed point a root is, from the eigenvalues of the field's Jacobian there.
// dynamo's ftype (spec 6.3): −1 stable (every Re λ < 0), 0 saddle (not stable, some Re λ < 0),
// +1 unstable (every Re λ >= 0). The finer kind separates nodes (real eigenvalues) from spirals
// (complex ones) and names centres (Re λ = 0 to working precision, Im λ ≠ 0), which dynamo's rule
// files as stable or unstable by the sign of a rounding error.
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace velofield {

enum class FixedPointKind { stable_node, stable_spiral, saddle, unstable_node, unstable_spiral, centre };

const char* fixed_point_kind_name(FixedPointKind kind);   // "stable node", "saddle", "centre", ...

// Eigenvalues of the row-major dim × dim matrix j (closed form in 2-D, LAPACK dgeev otherwise).
std::vector<std::complex<double>> eigenvalues(int64_t dim, const double* j);

// dynamo's −1 / 0 / +1.
int fixed_point_type(const std::vector<std::complex<double>>& eigenvalues);
FixedPointKind fixed_point_kind(const std::vector<std::complex<double>>& eigenvalues);

// 2-D: the unit eigenvector of the real eigenvalue `lambda` of the row-major 2 × 2 matrix j.
std::vector<double> eigenvector_2d(const double* j, double lambda);

}  // namespace velofield
