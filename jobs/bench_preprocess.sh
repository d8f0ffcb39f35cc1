#!/usr/bin/env bash
#SBATCH --job-name=velofield-bench-preprocess
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --time=01:00:00
# Benchmark of the preprocess stage (issue 4): the pancreas data (3696 × 2000) and a simulated
# atlas (default 1M cells × 2,000 genes) at 1 and 2 ranks; per-step wall seconds (max over ranks),
# the stage total and peak RSS per rank. Reading and writing are not timed (no output is written).
# Targets: pancreas <= 0.15 s at 2 ranks (dynamo: 0.70 s on this machine kind); 1M cells <= 60 s at 2 ranks.
#
# usage: bash jobs/bench_preprocess.sh [VELOFIELD] [CELLS] [GENES] [RANKS...]
#   env MPIEXEC  launcher (default: mpiexec --bind-to none; under Slurm e.g. MPIEXEC=srun)
#   env WORK     where the simulated file is kept between runs (default /tmp/velofield-bench-preprocess)
#   env SOLVER   pca_solver for every run (default auto)
#   env REPEAT   runs per configuration, the fastest is reported (default 3 for pancreas, 1 for the atlas)
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
VELOFIELD=${1:-$HERE/build/src/velofield}
CELLS=${2:-1000000}
GENES=${3:-2000}
shift $(( $# < 3 ? $# : 3 ))
RANKS=("$@")
[ ${#RANKS[@]} -eq 0 ] && RANKS=(1 2)
MPIEXEC=${MPIEXEC:-mpiexec --bind-to none}
WORK=${WORK:-/tmp/velofield-bench-preprocess}
SOLVER=${SOLVER:-auto}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
PANCREAS=$HERE/../shared/data/pancreas_supercell_3696x2000.h5ad
ATLAS=$WORK/sim_${CELLS}x${GENES}.h5ad

echo "velofield preprocess benchmark ($(hostname), $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg)), pca_solver=$SOLVER"
if [ ! -f "$ATLAS" ]; then
  echo "simulating $CELLS x $GENES into $ATLAS ..."
  # shellcheck disable=SC2086
  $MPIEXEC -n 2 "$VELOFIELD" simulate --cells "$CELLS" --genes "$GENES" --seed 1 --truth-max-entries 0 --out "$ATLAS" -q
fi

run_case() {   # label input ranks repeat
  local label=$1 input=$2 np=$3 repeat=$4 best=""
  for ((r = 0; r < repeat; ++r)); do
    local t="$WORK/timings_${label}_np${np}_$r.json"
    printf '[run]\ninput = %s\nstages = preprocess\nsimulate_if_missing = false\n[preprocess]\npca_solver = %s\n' \
      "$input" "$SOLVER" > "$WORK/bench.ini"
    # shellcheck disable=SC2086
    $MPIEXEC -n "$np" "$VELOFIELD" run --config "$WORK/bench.ini" --timings "$t" -q
    best=$(/usr/bin/python3 - "$t" "$best" <<'PY'
import json, sys
t = {s["stage"]: s for s in json.load(open(sys.argv[1]))["stages"]}
total = t["preprocess"]["wall_seconds"]
prev = sys.argv[2]
print(sys.argv[1] if not prev or total < {s["stage"]: s for s in json.load(open(prev))["stages"]}["preprocess"]["wall_seconds"] else prev)
PY
)
  done
  /usr/bin/python3 - "$best" "$label" "$np" <<'PY'
import json, sys
path, label, np_ = sys.argv[1], sys.argv[2], sys.argv[3]
stages = json.load(open(path))["stages"]
t = {s["stage"]: s for s in stages}
steps = [s["stage"] for s in stages if s["stage"].startswith("preprocess.")]
rss = "/".join(f"{b / 2**20:.0f}" for b in t["preprocess"]["peak_rss_bytes_per_rank"])
cells = t["preprocess"]["cells"]
print(f"{label:<10} {cells:>8} {np_:>5} {t['preprocess']['wall_seconds']:8.3f}  "
      + " ".join(f"{s[len('preprocess.'):]}={t[s]['wall_seconds']:.3f}" for s in steps) + f"  peak RSS MiB/rank {rss}")
PY
}

printf "%-10s %8s %5s %8s  %s\n" data cells ranks total_s "per step (s)"
for np in "${RANKS[@]}"; do
  if [ -f "$PANCREAS" ]; then run_case pancreas "$PANCREAS" "$np" "${REPEAT:-3}"; fi
done
for np in "${RANKS[@]}"; do run_case atlas "$ATLAS" "$np" "${REPEAT:-1}"; done
