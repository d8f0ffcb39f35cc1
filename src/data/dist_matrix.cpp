#include "data/dist_matrix.hpp"

#include "core/error.hpp"

namespace velofield {

namespace {
void check_petsc(PetscErrorCode ierr, const char* what) {
  if (ierr) throw Error(std::string("PETSc failed in ") + what + " (error " + std::to_string(ierr) + ")");
}
}  // namespace

DistMatrix::~DistMatrix() {
  if (mat_) MatDestroy(&mat_);
}

DistMatrix& DistMatrix::operator=(DistMatrix&& o) noexcept {
  if (this != &o) {
    if (mat_) MatDestroy(&mat_);
    mat_ = o.mat_;
    file_dtype_ = o.file_dtype_;
    o.mat_ = nullptr;
  }
  return *this;
}

DistMatrix DistMatrix::from_local_csr(MPI_Comm comm, int64_t local_rows, int64_t global_cols,
                                      const std::vector<int64_t>& indptr, const std::vector<int64_t>& cols,
                                      const std::vector<double>& values, DType file_dtype) {
  int64_t global_rows = 0;
  MPI_Allreduce(&local_rows, &global_rows, 1, MPI_INT64_T, MPI_SUM, comm);
  if (global_rows > PETSC_MAX_INT || global_cols > PETSC_MAX_INT)
    throw Error("a cell × cell matrix with " + std::to_string(global_rows) +
                " rows needs a PETSc built with 64-bit indices (--with-64-bit-indices)");
  // Each rank's AIJ block is indexed by PetscInt on its own: more than 2^31 nonzeros in total is
  // fine with a 32-bit PETSc, more than 2^31 on one rank is not (checked before any allocation).
  const int64_t local_nnz = indptr.empty() ? 0 : indptr.back();
  agree(comm, local_nnz <= PETSC_MAX_INT,
        "a cell × cell matrix with " + std::to_string(local_nnz) + " nonzeros on one rank exceeds PETSc's " +
            std::to_string(8 * sizeof(PetscInt)) + "-bit index; run on more ranks or use a PETSc built with 64-bit indices");
  // Column ownership follows the row layout (square obsp): local columns = local rows.
  Mat A = nullptr;
  check_petsc(MatCreate(comm, &A), "MatCreate");
  check_petsc(MatSetSizes(A, static_cast<PetscInt>(local_rows), static_cast<PetscInt>(local_rows),
                          static_cast<PetscInt>(global_rows), static_cast<PetscInt>(global_cols)),
              "MatSetSizes");
  check_petsc(MatSetType(A, MATAIJ), "MatSetType");
  check_petsc(MatSetFromOptions(A), "MatSetFromOptions");
  // Exact preallocation: count diagonal-block and off-diagonal-block entries per row.
  PetscInt row_begin = 0;
  {
    int64_t begin = 0;
    MPI_Exscan(&local_rows, &begin, 1, MPI_INT64_T, MPI_SUM, comm);
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    row_begin = rank == 0 ? 0 : static_cast<PetscInt>(begin);
  }
  const PetscInt row_end = row_begin + static_cast<PetscInt>(local_rows);
  std::vector<PetscInt> d_nnz(static_cast<size_t>(local_rows)), o_nnz(static_cast<size_t>(local_rows));
  for (int64_t r = 0; r < local_rows; ++r) {
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k) {
      const int64_t c = cols[static_cast<size_t>(k)];
      (c >= row_begin && c < row_end ? d_nnz : o_nnz)[static_cast<size_t>(r)]++;
    }
  }
  check_petsc(MatSeqAIJSetPreallocation(A, 0, d_nnz.data()), "MatSeqAIJSetPreallocation");
  std::vector<PetscInt> all_nnz(static_cast<size_t>(local_rows));
  for (size_t r = 0; r < all_nnz.size(); ++r) all_nnz[r] = d_nnz[r] + o_nnz[r];
  check_petsc(MatMPIAIJSetPreallocation(A, 0, d_nnz.data(), 0, o_nnz.data()), "MatMPIAIJSetPreallocation");
  // Explicit zeros are structure (e.g. a self-loop of weight 0); keep them.
  check_petsc(MatSetOption(A, MAT_IGNORE_ZERO_ENTRIES, PETSC_FALSE), "MatSetOption");
  std::vector<PetscInt> row_cols;
  std::vector<PetscScalar> row_vals;
  for (int64_t r = 0; r < local_rows; ++r) {
    const PetscInt grow = row_begin + static_cast<PetscInt>(r);
    row_cols.assign(cols.begin() + indptr[r], cols.begin() + indptr[r + 1]);
    row_vals.assign(values.begin() + indptr[r], values.begin() + indptr[r + 1]);
    if (row_cols.empty()) continue;
    check_petsc(MatSetValues(A, 1, &grow, static_cast<PetscInt>(row_cols.size()), row_cols.data(),
                             row_vals.data(), INSERT_VALUES),
                "MatSetValues");
  }
  check_petsc(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY), "MatAssemblyBegin");
  check_petsc(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY), "MatAssemblyEnd");
  return DistMatrix(A, file_dtype);
}

void DistMatrix::local_csr(std::vector<int64_t>& indptr, std::vector<int64_t>& cols,
                           std::vector<double>& values) const {
  PetscInt begin = 0, end = 0;
  check_petsc(MatGetOwnershipRange(mat_, &begin, &end), "MatGetOwnershipRange");
  indptr.assign(1, 0);
  cols.clear();
  values.clear();
  for (PetscInt r = begin; r < end; ++r) {
    PetscInt n = 0;
    const PetscInt* c = nullptr;
    const PetscScalar* v = nullptr;
    check_petsc(MatGetRow(mat_, r, &n, &c, &v), "MatGetRow");
    for (PetscInt k = 0; k < n; ++k) {
      cols.push_back(c[k]);
      values.push_back(PetscRealPart(v[k]));
    }
    check_petsc(MatRestoreRow(mat_, r, &n, &c, &v), "MatRestoreRow");
    indptr.push_back(static_cast<int64_t>(cols.size()));
  }
}

int64_t DistMatrix::global_rows() const {
  PetscInt m = 0, n = 0;
  MatGetSize(mat_, &m, &n);
  return m;
}

int64_t DistMatrix::global_cols() const {
  PetscInt m = 0, n = 0;
  MatGetSize(mat_, &m, &n);
  return n;
}

int64_t DistMatrix::local_nnz() const {
  std::vector<int64_t> p, c;
  std::vector<double> v;
  local_csr(p, c, v);
  return p.back();
}

bool DistMatrix::equals(const DistMatrix& o, MPI_Comm comm) const {
  std::vector<int64_t> p1, c1, p2, c2;
  std::vector<double> v1, v2;
  local_csr(p1, c1, v1);
  o.local_csr(p2, c2, v2);
  int same = (p1 == p2 && c1 == c2 && v1 == v2 && global_cols() == o.global_cols()) ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, comm);
  return same == 1;
}

}  // namespace velofield
