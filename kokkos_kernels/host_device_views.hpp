#pragma once
// Host pointers in, host pointers out: the entry points of the kernels take plain host arrays, so
// their callers never include Kokkos. These helpers give a kernel its device views: a copy where
// the default execution space cannot read host memory (CUDA, HIP), the host array itself where it
// can (Serial, OpenMP), where create_mirror_view_and_copy copies nothing.
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <utility>

namespace velofield::kernels {

using DeviceExec = Kokkos::DefaultExecutionSpace;
using DeviceMem = DeviceExec::memory_space;
using HostUnmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;

// A read-only device view of n host values.
template <class T>
Kokkos::View<const T*, DeviceMem> device_input(const T* host, int64_t n) {
  Kokkos::View<const T*, Kokkos::HostSpace, HostUnmanaged> h(host, static_cast<size_t>(n));
  return Kokkos::create_mirror_view_and_copy(DeviceMem(), h);
}

// A device view for n output values, written back to `host` by copy_to_host().
template <class T>
struct DeviceOutput {
  Kokkos::View<T*, Kokkos::HostSpace, HostUnmanaged> host;
  decltype(Kokkos::create_mirror_view(DeviceMem(), std::declval<Kokkos::View<T*, Kokkos::HostSpace, HostUnmanaged>>())) device;

  DeviceOutput(T* p, int64_t n) : host(p, static_cast<size_t>(n)), device(Kokkos::create_mirror_view(DeviceMem(), host)) {}
  void copy_to_host() { Kokkos::deep_copy(host, device); }
};

// A device view holding n host values that the kernel updates in place.
template <class T>
struct DeviceInOut : DeviceOutput<T> {
  DeviceInOut(T* p, int64_t n) : DeviceOutput<T>(p, n) { Kokkos::deep_copy(this->device, this->host); }
};

}  // namespace velofield::kernels
