#pragma once
// Runs BLAS/LAPACK single-threaded while it lives (OpenBLAS; a no-op with a BLAS without
// openblas_set_num_threads). Threads per rank are cores / ranks, so they differ between rank
// counts, and OpenBLAS 0.3.21 rounds some calls differently with more than one thread: a GEMM
// with a thin result (U·C, n × d with k = M) and the Cholesky factorisation dpotrf (measured: most
// entries differ in the last bits between 1 and 2 threads). The SparseVFC fit runs those calls
// inside this scope so that its result does not depend on the thread count either; its SYRK and
// the distance GEMM (k = d) give identical bits at any thread count (tests/unit/
// test_vectorfield_reproducibility.cpp checks both) and keep their threads.
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
