#pragma once
// Portable math across Kokkos 3.4 (Debian) and 4.x (clusters, CUDA).
#include <Kokkos_Core.hpp>

namespace velofield::kernels {
#if KOKKOS_VERSION >= 30700
namespace kmath = Kokkos;
#else
namespace kmath = Kokkos::Experimental;
#endif
}  // namespace velofield::kernels
