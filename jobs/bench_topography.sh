#!/usr/bin/env bash
#SBATCH --job-name=velofield-bench-topography
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --time=00:30:00
# Benchmark of the topography stage (issue 8) on dynamo's fitted UMAP field of the pancreas data
# (../shared/reference/dynamo: VecFld_umap_X_ctrl/_C/_beta and the cells' X_umap), at 1 and 2
# ranks: the stage's wall seconds (max over ranks) and peak RSS per rank from --timings, the
# fastest of REPEAT runs. Target: <= 0.3 s (dynamo's dyn.vf.topography: 4.94 s on this machine kind).
#
# usage: bash jobs/bench_topography.sh [VELOFIELD] [RANKS...]
#   env MPIEXEC  launcher (default: mpiexec --bind-to none; under Slurm e.g. MPIEXEC=srun)
#   env WORK     where the inputs are kept between runs (default /tmp/velofield-bench-topography)
#   env REPEAT   runs per rank count, the fastest is reported (default 3)
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
VELOFIELD=${1:-$HERE/build/src/velofield}
shift $(( $# < 1 ? $# : 1 ))
RANKS=("$@")
[ ${#RANKS[@]} -eq 0 ] && RANKS=(1 2)
MPIEXEC=${MPIEXEC:-mpiexec --bind-to none}
WORK=${WORK:-/tmp/velofield-bench-topography}
REPEAT=${REPEAT:-3}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
IN=$WORK/pancreas_fields.h5ad
[ -f "$IN" ] || $PY "$HERE/jobs/make_topography_inputs.py" pancreas "$HERE/../shared" "$IN"

echo "velofield topography benchmark ($(hostname), $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-28s %5s %10s %s\n" case ranks seconds "peak RSS per rank (MB)"
for np in "${RANKS[@]}"; do
  best=""
  for _ in $(seq "$REPEAT"); do
    rm -f "$WORK/out.h5ad" "$WORK/t.json"
    $MPIEXEC -n "$np" "$VELOFIELD" topography "$IN" "$WORK/out.h5ad" --basis umap --timings "$WORK/t.json" -q < /dev/null
    line=$($PY - "$WORK/t.json" <<'PY'
import json, sys
r = [s for s in json.load(open(sys.argv[1]))["stages"] if s["stage"] == "topography"][0]
print(f'{r["wall_seconds"]:.3f} {" ".join(str(round(b / 1e6)) for b in r["peak_rss_bytes_per_rank"])}')
PY
)
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best=$line; fi
  done
  printf "%-28s %5s %10s %s\n" "pancreas umap (dynamo 4.94)" "$np" "$(echo "$best" | cut -d' ' -f1)" "$(echo "$best" | cut -d' ' -f2-)"
done
