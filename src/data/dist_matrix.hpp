#pragma once
// A cell × cell matrix (obsp): a PETSc AIJ matrix (MATMPIAIJ on several ranks) with the same row
// layout as the cells. Owns its Mat; move-only. Created with MatSetFromOptions, so a GPU PETSc can
// switch type (-mat_type aijkokkos) without a rebuild.
#include <petscmat.h>

#include <cstdint>
#include <vector>

#include "data/array.hpp"

namespace velofield {

class DistMatrix {
 public:
  DistMatrix() = default;
  explicit DistMatrix(Mat m, DType file_dtype = DType::f32) : mat_(m), file_dtype_(file_dtype) {}
  ~DistMatrix();
  DistMatrix(DistMatrix&& o) noexcept : mat_(o.mat_), file_dtype_(o.file_dtype_) { o.mat_ = nullptr; }
  DistMatrix& operator=(DistMatrix&& o) noexcept;
  DistMatrix(const DistMatrix&) = delete;
  DistMatrix& operator=(const DistMatrix&) = delete;

  // Collective. Builds from the rank's rows in CSR form with global column indices; values are
  // converted to PetscScalar. `file_dtype` is the dtype the values are written back with.
  static DistMatrix from_local_csr(MPI_Comm comm, int64_t local_rows, int64_t global_cols,
                                   const std::vector<int64_t>& indptr, const std::vector<int64_t>& cols,
                                   const std::vector<double>& values, DType file_dtype);
  // The rank's rows in CSR form (global column indices). Not collective.
  void local_csr(std::vector<int64_t>& indptr, std::vector<int64_t>& cols, std::vector<double>& values) const;

  Mat mat() const { return mat_; }
  DType file_dtype() const { return file_dtype_; }
  int64_t global_rows() const;
  int64_t global_cols() const;
  int64_t local_nnz() const;
  // Collective: identical structure and values (MatEqual would ignore explicit zeros).
  bool equals(const DistMatrix& o, MPI_Comm comm) const;

 private:
  Mat mat_ = nullptr;
  DType file_dtype_ = DType::f32;
};

}  // namespace velofield
