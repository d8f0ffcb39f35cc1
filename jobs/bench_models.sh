#!/usr/bin/env bash
# LibTorch velocity models (`dynamics --method celldancer`) on the pancreas data and on a simulated
# dataset, at 1 and 2 ranks: seconds of the dynamics step (max over ranks) and peak RSS per rank
# (from --timings), then the accuracy the issue asks for: CBDir on pancreas' known transitions next
# to the stochastic model's, and the median per-cell cosine to the truth on the simulation.
#   bash jobs/bench_models.sh [SIM_CELLS=3000] [SIM_GENES=300] [WORKDIR=/tmp/velofield-bench-models]
# Timings are noisy: the machine is shared (2 cores).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
CELLS=${1:-3000}; GENES=${2:-300}; WORK=${3:-/tmp/velofield-bench-models}
BUILD=${BUILD:-$HERE/build}
VF=${VELOFIELD:-$BUILD/src/velofield}
SHARED=${VELOFIELD_SHARED_DIR:-$HERE/../shared}
WEIGHTS=$SHARED/reference/celldancer
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
MPI=(mpirun --quiet --oversubscribe --bind-to none)
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s={x['stage']:x for x in d['stages']}; print(eval(sys.argv[2]))" "$@"; }
row() {   # row LABEL RANKS TIMINGS.json STAGE
  printf "%-28s %-6s %-12s %9.1f   %s\n" "$1" "$2" "$4" "$(json "$3" "s['$4']['wall_seconds']")" \
    "$(json "$3" "' / '.join('%.0f' % (b / 1048576) for b in s['$4']['peak_rss_bytes_per_rank'])")"
}
# accuracy FILE METHOD LABEL [evaluate options...]: cell-velocities onto umap, then evaluate.
accuracy() {
  local in=$1 label=$2; shift 2
  "${MPI[@]}" -n 2 "$VF" cell-velocities "$in" "$WORK/cv.h5ad" --bases umap -q </dev/null
  "${MPI[@]}" -n 2 "$VF" evaluate "$WORK/cv.h5ad" --basis umap --out "$WORK/eval_$label.json" "$@" </dev/null
}
printf "%-28s %-6s %-12s %9s   %s\n" input ranks step seconds "peak RSS MiB per rank"

PANCREAS=$SHARED/data/pancreas_supercell_3696x2000.h5ad
TRANSITIONS="Ductal>Ngn3 low EP>Ngn3 high EP>Pre-endocrine>{Alpha,Beta,Delta,Epsilon}"
if [ -f "$PANCREAS" ]; then
  BASE=$WORK/pancreas_base.h5ad
  [ -f "$BASE" ] || "${MPI[@]}" -n 2 "$VF" run --config "$HERE/inputs/pancreas.ini" --run.stages "preprocess, moments, umap" \
                      --run.output "$BASE" -q </dev/null
  for np in 1 2; do
    "${MPI[@]}" -n $np "$VF" dynamics "$BASE" "$WORK/pancreas_cd$np.h5ad" --method celldancer \
      --celldancer_weights "$WEIGHTS" --timings "$WORK/pcd$np.json" </dev/null | grep -E "celldancer" | tail -2
    row "pancreas celldancer" $np "$WORK/pcd$np.json" dynamics
  done
  "${MPI[@]}" -n 2 "$VF" dynamics "$BASE" "$WORK/pancreas_st.h5ad" -q </dev/null
  echo "--- pancreas CBDir, celldancer"; accuracy "$WORK/pancreas_cd2.h5ad" p_cd --transitions "$TRANSITIONS"
  echo "--- pancreas CBDir, stochastic"; accuracy "$WORK/pancreas_st.h5ad" p_st --transitions "$TRANSITIONS"
else
  echo "(pancreas skipped: $PANCREAS is absent)"
fi

SIM=$WORK/sim_${CELLS}x${GENES}.h5ad
[ -f "$SIM" ] || "$VF" simulate --cells "$CELLS" --genes "$GENES" --out "$SIM" -q
[ -f "$WORK/sim_base.h5ad" ] || "${MPI[@]}" -n 2 "$VF" run --config "$HERE/inputs/pancreas.ini" --run.input "$SIM" \
                                  --run.stages "preprocess, moments, umap" --run.output "$WORK/sim_base.h5ad" -q </dev/null
for np in 1 2; do
  "${MPI[@]}" -n $np "$VF" dynamics "$WORK/sim_base.h5ad" "$WORK/sim_cd$np.h5ad" --method celldancer \
    --celldancer_weights "$WEIGHTS" -q --timings "$WORK/scd$np.json" </dev/null
  row "simulated $CELLS × $GENES" $np "$WORK/scd$np.json" dynamics
done
echo "--- simulated, celldancer (gene-space cosine to the truth, CBDir on the simulated tree)"; accuracy "$WORK/sim_cd2.h5ad" s_cd

# VeloVI (`dynamics --method velovi`): the same inputs; seconds per epoch (median over the run, from
# the trainer's per-epoch log) besides the step's wall time. VELOVI_EPOCHS caps the epochs
# (scvi-tools' default 500; early stopping may end sooner).
EPOCHS=${VELOVI_EPOCHS:-500}
epoch_seconds() { /usr/bin/python3 -c "import re,sys,statistics as s; t=[float(m.group(1)) for m in re.finditer(r'velovi: epoch \d+/\d+ .*\(([0-9.e+-]+) s\)', open(sys.argv[1]).read())]; print('%d epochs, median %.2f s per epoch' % (len(t), s.median(t)))" "$1"; }
if [ -f "$PANCREAS" ]; then
  for np in 1 2; do
    "${MPI[@]}" -n $np "$VF" dynamics "$BASE" "$WORK/pancreas_vv$np.h5ad" --method velovi --max_epochs "$EPOCHS" \
      --timings "$WORK/pvv$np.json" </dev/null >"$WORK/pvv$np.log" 2>&1
    row "pancreas velovi" $np "$WORK/pvv$np.json" dynamics; epoch_seconds "$WORK/pvv$np.log"
  done
  echo "--- pancreas CBDir, velovi"; accuracy "$WORK/pancreas_vv2.h5ad" p_vv --transitions "$TRANSITIONS"
fi
for np in 1 2; do
  "${MPI[@]}" -n $np "$VF" dynamics "$WORK/sim_base.h5ad" "$WORK/sim_vv$np.h5ad" --method velovi --max_epochs "$EPOCHS" \
    --timings "$WORK/svv$np.json" </dev/null >"$WORK/svv$np.log" 2>&1
  row "simulated $CELLS × $GENES velovi" $np "$WORK/svv$np.json" dynamics; epoch_seconds "$WORK/svv$np.log"
done
echo "--- simulated, velovi (gene-space cosine to the truth, CBDir on the simulated tree)"; accuracy "$WORK/sim_vv2.h5ad" s_vv
