#pragma once
// Kokkos lifetime and identity, behind a header that does not include Kokkos, so that only the
// kernel translation units go through nvcc_wrapper on a CUDA build.
#include <string>

namespace velofield::kernels {
void initialize_kokkos(int& argc, char** argv, int threads);
void finalize_kokkos();
std::string kokkos_version();
std::string kokkos_backend();   // e.g. "Serial", "OpenMP", "Cuda"
}  // namespace velofield::kernels
