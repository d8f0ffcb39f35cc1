#!/usr/bin/env bash
# Sets up (if needed) and runs every test: kernel unit tests, MPI tests at 1, 2 and 3 ranks,
# CLI end-to-end tests and the anndata interop tests.
#   bash scripts/test.sh [ctest options, e.g. -R h5ad]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
cd build
ctest --output-on-failure --timeout 900 "$@"
