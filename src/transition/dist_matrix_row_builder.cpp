#include "transition/dist_matrix_row_builder.hpp"

#include <string>

#include "core/error.hpp"

namespace velofield {

namespace {
void check(PetscErrorCode code, const char* what) {
  if (code) throw Error(std::string("PETSc failed in ") + what + " (error " + std::to_string(code) + ")");
}
}  // namespace

DistMatrixRowBuilder::DistMatrixRowBuilder(MPI_Comm comm, int64_t local_rows, int64_t global_cols, const std::vector<PetscInt>& d_nnz,
                                           const std::vector<PetscInt>& o_nnz) {
  int64_t global_rows = 0;
  MPI_Allreduce(&local_rows, &global_rows, 1, MPI_INT64_T, MPI_SUM, comm);
  if (global_rows > PETSC_MAX_INT || global_cols > PETSC_MAX_INT)
    throw Error("a cell × cell matrix with " + std::to_string(global_rows) +
                " rows needs a PETSc built with 64-bit indices (--with-64-bit-indices)");
  check(MatCreate(comm, &mat_), "MatCreate");
  // Square obsp: a rank's columns are its cells, as its rows are.
  check(MatSetSizes(mat_, static_cast<PetscInt>(local_rows), static_cast<PetscInt>(local_rows), static_cast<PetscInt>(global_rows),
                    static_cast<PetscInt>(global_cols)),
        "MatSetSizes");
  check(MatSetType(mat_, MATAIJ), "MatSetType");
  check(MatSetFromOptions(mat_), "MatSetFromOptions");   // -mat_type aijkokkos on a GPU build
  std::vector<PetscInt> all(d_nnz.size());
  for (size_t r = 0; r < all.size(); ++r) all[r] = d_nnz[r] + o_nnz[r];
  check(MatSeqAIJSetPreallocation(mat_, 0, all.data()), "MatSeqAIJSetPreallocation");
  check(MatMPIAIJSetPreallocation(mat_, 0, d_nnz.data(), 0, o_nnz.data()), "MatMPIAIJSetPreallocation");
  check(MatSetOption(mat_, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE), "MatSetOption");
}

DistMatrixRowBuilder::~DistMatrixRowBuilder() {
  if (mat_) MatDestroy(&mat_);
}

void DistMatrixRowBuilder::set_row(int64_t global_row, const std::vector<PetscInt>& cols, const std::vector<PetscScalar>& values) {
  if (cols.empty()) return;
  const PetscInt row = static_cast<PetscInt>(global_row);
  check(MatSetValues(mat_, 1, &row, static_cast<PetscInt>(cols.size()), cols.data(), values.data(), INSERT_VALUES), "MatSetValues");
}

DistMatrix DistMatrixRowBuilder::assemble() {
  check(MatAssemblyBegin(mat_, MAT_FINAL_ASSEMBLY), "MatAssemblyBegin");
  check(MatAssemblyEnd(mat_, MAT_FINAL_ASSEMBLY), "MatAssemblyEnd");
  Mat m = mat_;
  mat_ = nullptr;
  return DistMatrix(m, DType::f64);
}

}  // namespace velofield
