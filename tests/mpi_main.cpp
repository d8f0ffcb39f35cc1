// GoogleTest main for MPI tests: every rank runs every test (test bodies are collective), only
// rank 0 prints, and the exit code is the max over ranks so a failure on any rank fails the run.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/runtime.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  velofield::Runtime runtime(argc, argv);
  velofield::RuntimeOptions quiet;
  quiet.quiet = true;
  runtime.configure(quiet);
  if (runtime.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return rc;
}
