// Kernel unit tests run on whatever backend Kokkos was built with (Serial here, CUDA on a GPU
// machine): no MPI, no PETSc.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  Kokkos::initialize(argc, argv);
  std::printf("Kokkos backend: %s\n", Kokkos::DefaultExecutionSpace::name());
  int rc = RUN_ALL_TESTS();
  Kokkos::finalize();
  return rc;
}
