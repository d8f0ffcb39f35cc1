#!/usr/bin/env bash
# DeepVelo (`dynamics --method deepvelo`) on the pancreas data (3696 cells × 2000 genes, all genes as
# dynamo's extvelo trains them) at 1 and 2 ranks: wall seconds of the dynamics step (max over ranks,
# its 100 full-batch steps: DeepVelo has no early stopping, so this is the time to convergence) and
# peak RSS per rank from --timings, the 1 → 2 speed-up, the machine load before each run, and CBDir
# on pancreas' known transitions (cell-velocities onto umap, then evaluate).
#   bash jobs/bench_deepvelo.sh [WORKDIR=/tmp/velofield-bench-deepvelo]
# Timings are noisy: the machine is shared (2 cores).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/velofield-bench-deepvelo}
BUILD=${BUILD:-$HERE/build}
VF=${VELOFIELD:-$BUILD/src/velofield}
SHARED=${VELOFIELD_SHARED_DIR:-$HERE/../shared}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
MPI=(mpirun --quiet --oversubscribe --bind-to none)
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s={x['stage']:x for x in d['stages']}; print(eval(sys.argv[2]))" "$@"; }
PANCREAS=$SHARED/data/pancreas_supercell_3696x2000.h5ad
TRANSITIONS="Ductal>Ngn3 low EP>Ngn3 high EP>Pre-endocrine>{Alpha,Beta,Delta,Epsilon}"
if [ ! -f "$PANCREAS" ]; then echo "(skipped: $PANCREAS is absent)"; exit 0; fi
BASE=$WORK/pancreas_base.h5ad
[ -f "$BASE" ] || "${MPI[@]}" -n 2 "$VF" run --config "$HERE/inputs/pancreas.ini" --run.stages "preprocess, moments, umap" \
                    --run.output "$BASE" -q </dev/null
printf "%-6s %9s   %-22s %s\n" ranks seconds "peak RSS MiB per rank" "load before (1/5/15 min)"
for np in 1 2; do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  "${MPI[@]}" -n $np "$VF" dynamics "$BASE" "$WORK/pancreas_dv$np.h5ad" --method deepvelo \
    --timings "$WORK/pdv$np.json" </dev/null >"$WORK/pdv$np.log" 2>&1
  printf "%-6s %9.1f   %-22s %s\n" $np "$(json "$WORK/pdv$np.json" "s['dynamics']['wall_seconds']")" \
    "$(json "$WORK/pdv$np.json" "' / '.join('%.0f' % (b / 1048576) for b in s['dynamics']['peak_rss_bytes_per_rank'])")" "$load"
  grep -E "deepvelo: [0-9]+ steps|deepvelo: seconds per step" "$WORK/pdv$np.log" | tail -2
done
/usr/bin/python3 -c "import json,sys; w=[{x['stage']:x for x in json.load(open(f))['stages']}['dynamics']['wall_seconds'] for f in sys.argv[1:]]; print('speed-up 1 -> 2 ranks: %.2fx' % (w[0] / w[1]))" \
  "$WORK/pdv1.json" "$WORK/pdv2.json"
echo "--- pancreas CBDir, deepvelo"
"${MPI[@]}" -n 2 "$VF" cell-velocities "$WORK/pancreas_dv2.h5ad" "$WORK/cv.h5ad" --bases umap -q </dev/null
"${MPI[@]}" -n 2 "$VF" evaluate "$WORK/cv.h5ad" --basis umap --transitions "$TRANSITIONS" --out "$WORK/eval_dv.json" </dev/null
