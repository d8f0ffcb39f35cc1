#pragma once
// Builds a cell × cell DistMatrix (PETSc AIJ, the cells' row layout) one row at a time, in any row
// order, with exact preallocation. DistMatrix::from_local_csr wants every row in one CSR first:
// for a transition matrix of 10^8 entries per rank that would hold the entries twice more.
#include <petscmat.h>

#include <cstdint>
#include <vector>

#include "data/dist_matrix.hpp"

namespace velofield {

class DistMatrixRowBuilder {
 public:
  // Collective. d_nnz / o_nnz: per local row, the entries in the rank's own columns (the columns
  // of its cells) and in the others'. Values are stored as float64 (the dtype written back).
  DistMatrixRowBuilder(MPI_Comm comm, int64_t local_rows, int64_t global_cols, const std::vector<PetscInt>& d_nnz,
                       const std::vector<PetscInt>& o_nnz);
  ~DistMatrixRowBuilder();
  DistMatrixRowBuilder(const DistMatrixRowBuilder&) = delete;
  DistMatrixRowBuilder& operator=(const DistMatrixRowBuilder&) = delete;

  // Not collective. A global row of this rank; columns ascending (PETSc appends then).
  void set_row(int64_t global_row, const std::vector<PetscInt>& cols, const std::vector<PetscScalar>& values);
  // Collective. The finished matrix; the builder is empty afterwards.
  DistMatrix assemble();

 private:
  Mat mat_ = nullptr;
};

}  // namespace velofield
