#pragma once
// Which loop structure a kernel launches with. A host backend keeps the range kernels (one work
// item per row, host arithmetic order, vectorised inner loops). A GPU gets team kernels instead:
// one point per thread with its coordinates and sums in registers, and the operand that all
// threads share (centres, references, x rows) staged through team scratch memory, so every
// global read is coalesced and no per-thread array lives in local memory. The team kernels also
// run on a host backend, with one thread per team, which is how the tests check them there.
#include <Kokkos_Core.hpp>

namespace velofield::kernels {

enum class KernelPath { range, team };

template <class ExecSpace>
constexpr KernelPath default_kernel_path() {
  return Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible ? KernelPath::range : KernelPath::team;
}

// Threads per team of the team kernels: one thread on a host backend (its teams are serial), four
// warps on a GPU.
template <class ExecSpace>
constexpr int team_kernel_threads() {
  return Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible ? 1 : 128;
}

// The per-thread register arrays of the team kernels have a compile-time bound and every loop over
// them is fully unrolled: nvcc keeps an array in registers only when all its indices are
// constants (otherwise it becomes a local-memory stack frame). GCC does not know the pragma.
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define VELOFIELD_UNROLL _Pragma("unroll")
#else
#define VELOFIELD_UNROLL
#endif

}  // namespace velofield::kernels
