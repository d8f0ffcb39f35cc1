#!/usr/bin/env bash
# Sets up (if needed) and runs the main job: dynamo's tutorial pipeline (inputs/pancreas.ini) on the
# pancreas dataset in ../shared/data, or the same pipeline on a simulated dataset
# (inputs/demo.ini) where that file is absent. Writes out/*.h5ad, out/figures/*.png and
# out/timings.json (per-stage wall seconds and peak memory per rank).
#   bash scripts/run_main.sh [RANKS] [extra velofield run options, e.g. --run.output out/x.h5ad]
set -euo pipefail
cd "$(dirname "$0")/.."
RANKS=${1:-2}
shift || true
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
CONFIG=inputs/pancreas.ini
[ -f ../shared/data/pancreas_supercell_3696x2000.h5ad ] || CONFIG=inputs/demo.ini
mkdir -p out
mpirun --quiet --oversubscribe --bind-to none -n "$RANKS" build/src/velofield run --config "$CONFIG" \
  --timings out/timings.json "$@"
echo "main job done ($CONFIG): out/, figures in out/figures/, per-stage timings in out/timings.json"
