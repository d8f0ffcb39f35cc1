#!/usr/bin/env bash
# Sets up (if needed) and runs the main job: the pipeline of inputs/pancreas.ini on the pancreas
# dataset in ../shared/data, or on a simulated dataset where that file is absent.
#   bash scripts/run_main.sh [RANKS] [extra velofield run options, e.g. --run.output out/x.h5ad]
set -euo pipefail
cd "$(dirname "$0")/.."
RANKS=${1:-2}
shift || true
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p out
mpirun --oversubscribe --bind-to none -n "$RANKS" build/src/velofield run --config inputs/pancreas.ini \
  --timings out/timings.json "$@"
echo "main job done: out/pancreas_velofield.h5ad, per-stage timings in out/timings.json"
