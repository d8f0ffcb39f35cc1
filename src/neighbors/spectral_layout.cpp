#include "neighbors/spectral_layout.hpp"

#include <slepceps.h>

#include <cmath>

#include "core/error.hpp"
#include "core/log.hpp"
#include "umap_epoch.hpp"

namespace velofield {

namespace {

void check(PetscErrorCode ierr, const char* what) {
  if (ierr) throw Error(std::string("SLEPc/PETSc failed in ") + what + " (error " + std::to_string(ierr) + ")");
}

// A value in [-1, 1) from the cell index: deterministic at any rank count.
double keyed_uniform(uint64_t seed, int64_t cell, int64_t which) {
  return static_cast<double>(kernels::umap_random(seed, -1, cell, which) >> 11) / 4503599627370496.0 - 1.0;
}

struct EpsHolder {
  EPS eps = nullptr;
  ~EpsHolder() {
    if (eps) EPSDestroy(&eps);
  }
};

struct MatHolder {
  Mat m = nullptr;
  ~MatHolder() {
    if (m) MatDestroy(&m);
  }
};

struct VecHolder {
  Vec v = nullptr;
  ~VecHolder() {
    if (v) VecDestroy(&v);
  }
};

}  // namespace

SpectralLayout spectral_layout(MPI_Comm comm, const DistMatrix& graph, int dim, uint64_t seed) {
  SpectralLayout out;
  MatHolder m;
  check(MatDuplicate(graph.mat(), MAT_COPY_VALUES, &m.m), "MatDuplicate");
  PetscInt begin = 0, end = 0;
  check(MatGetOwnershipRange(m.m, &begin, &end), "MatGetOwnershipRange");
  const int64_t n_local = end - begin;
  VecHolder scale, start;
  check(MatCreateVecs(m.m, &scale.v, &start.v), "MatCreateVecs");
  check(MatGetRowSum(m.m, scale.v), "MatGetRowSum");
  {
    PetscScalar* s = nullptr;
    PetscScalar* x = nullptr;
    check(VecGetArray(scale.v, &s), "VecGetArray");
    check(VecGetArray(start.v, &x), "VecGetArray");
    for (int64_t i = 0; i < n_local; ++i) {
      s[i] = s[i] > 0 ? 1.0 / std::sqrt(PetscRealPart(s[i])) : 0.0;
      // umap-learn starts its Lanczos from all ones; a keyed perturbation keeps it off the
      // trivial eigenvector direction while staying deterministic.
      x[i] = 1.0 + 0.5 * keyed_uniform(seed, begin + i, 0);
    }
    check(VecRestoreArray(start.v, &x), "VecRestoreArray");
    check(VecRestoreArray(scale.v, &s), "VecRestoreArray");
  }
  check(MatDiagonalScale(m.m, scale.v, scale.v), "MatDiagonalScale");

  EpsHolder eps;
  check(EPSCreate(comm, &eps.eps), "EPSCreate");
  check(EPSSetOperators(eps.eps, m.m, nullptr), "EPSSetOperators");
  check(EPSSetProblemType(eps.eps, EPS_HEP), "EPSSetProblemType");
  check(EPSSetWhichEigenpairs(eps.eps, EPS_LARGEST_REAL), "EPSSetWhichEigenpairs");
  check(EPSSetDimensions(eps.eps, dim + 1, PETSC_DEFAULT, PETSC_DEFAULT), "EPSSetDimensions");
  // A layout start needs no more: umap-learn asks its eigensolver for 1e-4.
  check(EPSSetTolerances(eps.eps, 1e-6, 3000), "EPSSetTolerances");
  check(EPSSetInitialSpace(eps.eps, 1, &start.v), "EPSSetInitialSpace");
  check(EPSSetOptionsPrefix(eps.eps, "umap_spectral_"), "EPSSetOptionsPrefix");
  check(EPSSetFromOptions(eps.eps), "EPSSetFromOptions");
  check(EPSSolve(eps.eps), "EPSSolve");
  PetscInt nconv = 0;
  check(EPSGetConverged(eps.eps, &nconv), "EPSGetConverged");
  if (nconv < dim + 1) {
    out.why_not = "the eigensolver converged " + std::to_string(nconv) + " of " + std::to_string(dim + 1) + " eigenpairs";
    return out;
  }
  std::vector<double> values(static_cast<size_t>(dim + 1));
  out.coords.assign(static_cast<size_t>(n_local * dim), 0.0);
  VecHolder x;
  check(MatCreateVecs(m.m, &x.v, nullptr), "MatCreateVecs");
  for (int j = 0; j <= dim; ++j) {
    PetscScalar lambda = 0;
    check(EPSGetEigenpair(eps.eps, j, &lambda, nullptr, x.v, nullptr), "EPSGetEigenpair");
    values[static_cast<size_t>(j)] = PetscRealPart(lambda);
    if (j == 0) continue;
    const PetscScalar* v = nullptr;
    check(VecGetArrayRead(x.v, &v), "VecGetArrayRead");
    double projection = 0;
    for (int64_t i = 0; i < n_local; ++i) projection += PetscRealPart(v[i]) * keyed_uniform(seed, begin + i, j);
    MPI_Allreduce(MPI_IN_PLACE, &projection, 1, MPI_DOUBLE, MPI_SUM, comm);
    const double sign = projection < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < n_local; ++i) out.coords[static_cast<size_t>(i * dim + j - 1)] = sign * PetscRealPart(v[i]);
    check(VecRestoreArrayRead(x.v, &v), "VecRestoreArrayRead");
  }
  // A second eigenvalue of 1 means more than one connected component: the eigenvectors then
  // only label components, which is no layout (umap-learn lays components out separately).
  if (values[1] > 1.0 - 1e-7) {
    out.why_not = "the graph has more than one connected component";
    return out;
  }
  log().detail(cat("umap: spectral initialisation, second eigenvalue of D^-1/2 A D^-1/2: ", values[1]));
  out.ok = true;
  return out;
}

}  // namespace velofield
