#!/usr/bin/env bash
# `dynamics` (dynamo's stochastic estimator) on the pancreas data and on a simulated atlas, at 1 and
# 2 ranks: per-step seconds (max over ranks) and peak RSS per rank, from --timings.
#   bash jobs/bench_dynamics.sh [CELLS=1000000] [GENES=1000] [REPEAT=3] [WORKDIR=/tmp/velofield-bench-dynamics]
# Pancreas: velofield's preprocess + moments write the moments file once (float64 CSR layers over
#   the 1617 selected genes, as the pipeline leaves them); then `velofield dynamics IN OUT` at 1 and
#   2 ranks, REPEAT times each (the best run is reported; the machine is shared, timings are noisy).
#   Target: <= 0.1 s at 2 ranks (dynamo: 7.4 s on this machine kind).
# Atlas: bench_dynamics_scale builds M_s, M_u, M_ss, M_us (dense float32, CELLS × GENES) in memory
#   from the simulator's kinetic model and runs the stage on them (a 16 GB moments file would be
#   mostly I/O); del_2nd_moments frees the second moments before velocity_S is built.
#   Target: <= 30 s for 1M cells.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
CELLS=${1:-1000000}; GENES=${2:-1000}; REPEAT=${3:-3}; WORK=${4:-/tmp/velofield-bench-dynamics}
BUILD=${BUILD:-$HERE/build}
VF=${VELOFIELD:-$BUILD/src/velofield}
SCALE=${SCALE_BENCH:-$BUILD/jobs/bench/bench_dynamics_scale}
SHARED=${VELOFIELD_SHARED_DIR:-$HERE/../shared}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
MPI=(mpirun --oversubscribe --bind-to none)
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s={x['stage']:x for x in d['stages']}; print(eval(sys.argv[2]))" "$@"; }
row() {   # row LABEL RANKS TIMINGS.json STAGE...
  local label=$1 np=$2 t=$3; shift 3
  for stage in "$@"; do
    printf "%-22s %-6s %-16s %9.3f   %s\n" "$label" "$np" "$stage" "$(json "$t" "s['$stage']['wall_seconds']")" \
      "$(json "$t" "' / '.join('%.0f' % (b / 1048576) for b in s['$stage']['peak_rss_bytes_per_rank'])")"
  done
}
printf "%-22s %-6s %-16s %9s   %s\n" input ranks step seconds "peak RSS MiB per rank"

PANCREAS=$SHARED/data/pancreas_supercell_3696x2000.h5ad
if [ -f "$PANCREAS" ]; then
  IN=$WORK/pancreas_moments.h5ad
  if [ ! -f "$IN" ]; then
    "${MPI[@]}" -n 2 "$VF" run --config "$HERE/inputs/pancreas.ini" --run.stages "preprocess, moments" --run.output "$IN" -q
  fi
  for np in 1 2; do
    best=""
    for r in $(seq "$REPEAT"); do
      "${MPI[@]}" -n $np "$VF" dynamics "$IN" "$WORK/pancreas_out.h5ad" -q --timings "$WORK/p$np.$r.json"
      sec=$(json "$WORK/p$np.$r.json" "s['dynamics']['wall_seconds']")
      if [ -z "$best" ] || [ "$(echo "$sec < $(json "$best" "s['dynamics']['wall_seconds']")" | bc -l)" = 1 ]; then best=$WORK/p$np.$r.json; fi
    done
    row "pancreas 3696 × 2000" $np "$best" read dynamics write
  done
else
  echo "(pancreas skipped: $PANCREAS is absent)"
fi

for np in 1 2; do
  "${MPI[@]}" -n $np "$SCALE" --cells "$CELLS" --genes "$GENES" --dtype float32 --del_2nd_moments -q --timings "$WORK/s$np.json"
  row "simulated $CELLS × $GENES" $np "$WORK/s$np.json" "make moments" dynamics
done
