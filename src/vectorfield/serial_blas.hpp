#pragma once
// Runs BLAS/LAPACK single-threaded while it lives (OpenBLAS; a no-op with a BLAS without
// openblas_set_num_threads). Threads per rank are cores / ranks, so they differ between rank
// counts, and OpenBLAS 0.3.21 rounds some calls differently with more than one thread: a GEMM with
// a thin result (U·C, n × d with k = M), the Cholesky factorisation dpotrf, and the distance GEMM
// x·cᵀ (k = d) for some row counts (measured: 462 rows, M = 500, d = 30; not at 256 or 2048). The
// vectorfield stage runs every such call inside this scope, so that its result does not depend on
// the thread count either. Only the chunk SYRK (the bulk of the flops) keeps its threads: it gave
// identical bits with 1 and 2 threads at every shape tried (tests/unit/
// test_vectorfield_reproducibility.cpp checks it and the whole fit).
namespace velofield {

class SerialBlas {
 public:
  SerialBlas();
  ~SerialBlas();
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int saved_ = 0;
};

}  // namespace velofield
