// The device's own rates, the yardsticks of the roofline table: a vendor DGEMM (cuBLAS on a CUDA
// build, the linked BLAS on a host build; a hand-written GEMM would understate the peak), a
// device-memory copy (a Kokkos kernel reading one array and writing another: what a streaming
// kernel can reach) and the host-to-device transfer the entry points pay per call.
#include <vector>

#include "bench_support.hpp"

#if defined(KOKKOS_ENABLE_CUDA) && defined(VELOFIELD_BENCH_CUBLAS)
#include <cublas_v2.h>
#elif defined(VELOFIELD_BENCH_BLAS)
extern "C" void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
                       const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
                       const int* ldc);
#endif

namespace velofield::kernels::bench {

// Named, not anonymous: nvcc rejects an extended lambda whose enclosing function has internal linkage.
namespace probes {

#if (defined(KOKKOS_ENABLE_CUDA) && defined(VELOFIELD_BENCH_CUBLAS)) || defined(VELOFIELD_BENCH_BLAS)
void dgemm_rate(benchmark::State& state, int n) {
  Kokkos::View<double*, Mem> a("gemm a", static_cast<size_t>(n) * n), b("gemm b", static_cast<size_t>(n) * n),
      c("gemm c", static_cast<size_t>(n) * n);
  fill_uniform(a, 1, -1, 1);
  fill_uniform(b, 2, -1, 1);
  const double one = 1, zero = 0;
#if defined(KOKKOS_ENABLE_CUDA) && defined(VELOFIELD_BENCH_CUBLAS)
  cublasHandle_t handle;
  cublasCreate(&handle);
  // Kokkos' default CUDA stream: cuBLAS work is then ordered with (and fenced like) the kernels.
  cublasSetStream(handle, Exec().cuda_stream());
  auto gemm = [&] { cublasDgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.data(), n, b.data(), n, &zero, c.data(), n); };
#else
  const char no = 'N';
  auto gemm = [&] { dgemm_(&no, &no, &n, &n, &n, &one, a.data(), &n, b.data(), &n, &zero, c.data(), &n); };
#endif
  gemm();   // warm-up: library initialisation and kernel selection stay out of the timing
  Kokkos::fence();
  for (auto _ : state) {
    gemm();
    Kokkos::fence();
  }
#if defined(KOKKOS_ENABLE_CUDA) && defined(VELOFIELD_BENCH_CUBLAS)
  cublasDestroy(handle);
#endif
  const double nn = static_cast<double>(n);
  set_work(state, 2 * nn * nn * nn, 3 * nn * nn * sizeof(double));
}
#endif

void copy_rate(benchmark::State& state, int64_t n) {
  Kokkos::View<double*, Mem> src("copy src", static_cast<size_t>(n)), dst("copy dst", static_cast<size_t>(n));
  fill_uniform(src, 3, 0, 1);
  for (auto _ : state) {
    Kokkos::parallel_for("bench::copy", Kokkos::RangePolicy<Exec>(0, n), KOKKOS_LAMBDA(const int64_t i) { dst(i) = src(i); });
    Kokkos::fence();
  }
  set_work(state, 0, 2.0 * static_cast<double>(n) * sizeof(double));
}

void host_to_device_rate(benchmark::State& state, int64_t n) {
  std::vector<double> host(static_cast<size_t>(n), 1.0);
  Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(host.data(), static_cast<size_t>(n));
  for (auto _ : state) {
    // What an entry point does with each input (no copy at all where the space is host memory).
    auto d = Kokkos::create_mirror_view_and_copy(Mem(), h);
    Kokkos::fence();
    benchmark::DoNotOptimize(d.data());
  }
  set_work(state, 0, static_cast<double>(n) * sizeof(double));
}

}  // namespace probes

void register_rate_probes(const Scale& scale) {
#if (defined(KOKKOS_ENABLE_CUDA) && defined(VELOFIELD_BENCH_CUBLAS)) || defined(VELOFIELD_BENCH_BLAS)
  const int n = scale.gpu ? 8192 : 512;
  benchmark::RegisterBenchmark("rate/dgemm", [n](benchmark::State& s) { probes::dgemm_rate(s, n); })->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
  const int64_t words = scale.gpu ? int64_t{1} << 28 : int64_t{1} << 22;
  benchmark::RegisterBenchmark("rate/copy", [words](benchmark::State& s) { probes::copy_rate(s, words); })->UseRealTime()->Unit(benchmark::kMillisecond);
  // Where the kernels run in host memory the entry points copy nothing: no transfer to time.
  if (!Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible)
    benchmark::RegisterBenchmark("rate/h2d", [words](benchmark::State& s) { probes::host_to_device_rate(s, words); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace velofield::kernels::bench
