# Every external dependency of velofield, found once. Debian 12 packages by default; on a
# cluster point Kokkos_ROOT / Torch_DIR / PETSC_DIR-style pkg-config paths at the site builds.
find_package(MPI REQUIRED COMPONENTS C CXX)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PETSC REQUIRED IMPORTED_TARGET PETSc)
pkg_check_modules(SLEPC REQUIRED IMPORTED_TARGET SLEPc)

include(${CMAKE_CURRENT_LIST_DIR}/KokkosPackage.cmake)

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "velofield needs a parallel (MPI) HDF5; found a serial one. "
                      "On Debian: apt-get install libhdf5-openmpi-dev")
endif()

find_package(Torch REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(nlohmann_json 3.10 REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo cairo-png cairo-svg cairo-pdf)
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
find_package(LAPACK REQUIRED)
# libsvm: the SVR of dynamo's gene selection is sklearn's SVR, i.e. libsvm; the same solver gives
# the same fit. No CMake/pkg-config file on Debian: header and library by name.
find_path(LIBSVM_INCLUDE_DIR svm.h PATH_SUFFIXES libsvm REQUIRED)
find_library(LIBSVM_LIBRARY NAMES svm REQUIRED)
# hnswlib: the approximate kNN of the moments stage (header-only, no CMake/pkg-config file on Debian).
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
if(VELOFIELD_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(VELOFIELD_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
