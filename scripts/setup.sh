#!/usr/bin/env bash
# One-command setup on Debian 12: installs the Debian packages velofield needs (only those
# missing), configures and builds. Idempotent: a second run only rebuilds what changed.
#   bash scripts/setup.sh            # Release build in ./build
#   BUILD_DIR=build-asan CMAKE_ARGS="-DVELOFIELD_SANITIZE=ON" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin
  libpetsc-real3.18-dev libslepc-real3.18-dev
  libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev
  libhdf5-openmpi-dev hdf5-tools
  libtorch-dev
  libboost-program-options-dev
  libgtest-dev libbenchmark-dev
  libopenblas-dev                 # else libtorch/PETSc run on the reference BLAS (15x slower)
  nlohmann-json3-dev
  libsvm-dev                      # the SVR of dynamo's gene selection (sklearn's SVR is libsvm)
  libhnswlib-dev                  # approximate kNN (HNSW, header-only) for atlas-size neighbour graphs
  libcairo2-dev fonts-dejavu-core # figures: PNG/SVG/PDF
  libxxhash-dev                   # input checksums for checkpoint/resume (XXH3: ~10 GB/s)
  clang libclang-rt-14-dev        # sanitizer CI and libFuzzer (scripts/test_sanitizers.sh)
  python3-anndata python3-h5py    # the interop tests: anndata reads what we write
  slurmctld slurmd slurm-client munge   # the job-script tests run a local one-node Slurm
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/velofield-apt.log 2>&1 \
    || { echo "setup: apt-get install failed; see /tmp/velofield-apt.log"; tail -20 /tmp/velofield-apt.log; exit 1; }
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
WERROR=OFF
[ "${CI:-}" = "true" ] && WERROR=ON
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DVELOFIELD_WERROR=$WERROR ${CMAKE_ARGS:-} > "$BUILD_DIR.configure.log" 2>&1 \
  || { cat "$BUILD_DIR.configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/src/velofield"
