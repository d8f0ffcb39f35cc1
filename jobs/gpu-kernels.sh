#!/usr/bin/env bash
# The GPU check of kokkos_kernels/ (issue 14), one prepared script: builds the kernel target alone
# against an installed Kokkos, runs its tests on that Kokkos' default backend, then times every big
# kernel at 1M-cell sizes (kNN tile, SparseVFC kernel block with M = 2,000, transition kernel,
# moment SpMM, field/Jacobian evaluation) and prints achieved GFLOP/s and GB/s against the device's
# measured cuBLAS DGEMM and copy rates (the roofline table at the end).
#   Kokkos_ROOT=/path/to/kokkos-install bash jobs/gpu-kernels.sh [BUILD_DIR]
# Needs CMake >= 3.20, GoogleTest and Google Benchmark (CMake packages), and for CUDA the CUDA
# toolkit of the Kokkos build (nvcc, cuBLAS). With a CUDA Kokkos the compiler is the Kokkos
# install's nvcc_wrapper and the sizes fill an H100 (about 20 GB per benchmark, a few minutes in
# all); with a host-only Kokkos it runs the small CI sizes (a dry run of this script).
# Environment: CXX (compiler, default as above), JOBS (build parallelism, default nproc),
# SCALE (gpu|ci, default by backend), BENCH_FLAGS (extra Google Benchmark flags).
set -euo pipefail
: "${Kokkos_ROOT:?set Kokkos_ROOT to an installed Kokkos (CUDA-enabled for the GPU run; >= 4.7 for CUDA 13)}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$HERE/build-gpu-kernels}
JOBS=${JOBS:-$(nproc)}

config=$(find "$Kokkos_ROOT/include" -maxdepth 2 -name KokkosCore_config.h 2>/dev/null | head -1)
[ -n "$config" ] || { echo "gpu-kernels: no KokkosCore_config.h under $Kokkos_ROOT/include" >&2; exit 2; }
if grep -q "^#define KOKKOS_ENABLE_CUDA\b" "$config"; then
  backend=cuda
  CXX=${CXX:-$Kokkos_ROOT/bin/nvcc_wrapper}
  SCALE=${SCALE:-gpu}
else
  backend=host
  CXX=${CXX:-c++}
  SCALE=${SCALE:-ci}
  echo "gpu-kernels: $Kokkos_ROOT has no CUDA backend; timing the host at scale $SCALE" >&2
fi
echo "== device"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
fi
echo "Kokkos_ROOT=$Kokkos_ROOT backend=$backend CXX=$CXX scale=$SCALE"

echo "== build (kokkos_kernels alone)"
start=$SECONDS
cmake -S "$HERE/kokkos_kernels" -B "$BUILD" -DKokkos_ROOT="$Kokkos_ROOT" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_BUILD_TYPE=Release -DVELOFIELD_BUILD_TESTS=ON -DVELOFIELD_BUILD_BENCHMARKS=ON >"$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS"
echo "built in $((SECONDS - start)) s"

echo "== tests"
ctest --test-dir "$BUILD" --output-on-failure

echo "== benchmarks"
# shellcheck disable=SC2086  # BENCH_FLAGS is a list of flags
"$BUILD/bench/velofield_kernel_bench" --scale="$SCALE" --benchmark_color=false \
  --benchmark_out="$BUILD/kernel_bench.json" --benchmark_out_format=json ${BENCH_FLAGS:-}
echo "raw results: $BUILD/kernel_bench.json"
