#!/usr/bin/env bash
# LatentVelo (`dynamics --method latentvelo`) on the pancreas data at 1 and 2 ranks: wall seconds of
# the dynamics step (max over ranks) and peak RSS per rank (from --timings), seconds per epoch
# (median of the per-epoch log), and the machine load around each run.
#   bash jobs/bench_latentvelo.sh [EPOCHS=50] [WORKDIR=/tmp/velofield-bench-latentvelo]
# The input is pancreas after `preprocess, moments` (the kNN graph LatentVelo takes from dynamo);
# LatentVelo re-derives its own normalisation, HVGs and moments from the raw counts. Timings are
# noisy: the machine is shared (2 cores).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
EPOCHS=${1:-50}; WORK=${2:-/tmp/velofield-bench-latentvelo}
BUILD=${BUILD:-$HERE/build}
VF=${VELOFIELD:-$BUILD/src/velofield}
SHARED=${VELOFIELD_SHARED_DIR:-$HERE/../shared}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
MPI=(mpirun --quiet --oversubscribe --bind-to none)
PANCREAS=$SHARED/data/pancreas_supercell_3696x2000.h5ad
if [ ! -f "$PANCREAS" ]; then echo "(skipped: $PANCREAS is absent)"; exit 0; fi
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s={x['stage']:x for x in d['stages']}; print(eval(sys.argv[2]))" "$@"; }
epoch_seconds() { /usr/bin/python3 -c "import re,sys,statistics as s; t=[float(m.group(1)) for m in re.finditer(r'latentvelo: epoch \d+/\d+ .*\(([0-9.e+-]+) s\)', open(sys.argv[1]).read())]; print('%d epochs, median %.2f s per epoch' % (len(t), s.median(t)) if t else 'no epochs')" "$1"; }
BASE=$WORK/pancreas_base.h5ad
[ -f "$BASE" ] || "${MPI[@]}" -n 2 "$VF" run --config "$HERE/inputs/pancreas.ini" --run.stages "preprocess, moments" \
                    --run.output "$BASE" -q </dev/null
printf "%-6s %9s   %-24s %s\n" ranks seconds "peak RSS MiB per rank" "load before"
declare -A SEC
for np in 1 2; do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  "${MPI[@]}" -n $np "$VF" dynamics "$BASE" "$WORK/pancreas_lv$np.h5ad" --method latentvelo --epochs "$EPOCHS" \
    --timings "$WORK/plv$np.json" </dev/null >"$WORK/plv$np.log" 2>&1
  SEC[$np]=$(json "$WORK/plv$np.json" "s['dynamics']['wall_seconds']")
  printf "%-6s %9.1f   %-24s %s\n" $np "${SEC[$np]}" \
    "$(json "$WORK/plv$np.json" "' / '.join('%.0f' % (b / 1048576) for b in s['dynamics']['peak_rss_bytes_per_rank'])")" "$load"
  epoch_seconds "$WORK/plv$np.log"; grep -E "latentvelo: [0-9]+ (HVGs|epochs)" "$WORK/plv$np.log" || true
done
/usr/bin/python3 -c "print('speed-up 1 -> 2 ranks: %.2fx' % (${SEC[1]} / ${SEC[2]}))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
