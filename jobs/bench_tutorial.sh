#!/usr/bin/env bash
#SBATCH --job-name=velofield-bench-tutorial
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --time=00:20:00
# End-to-end benchmark of the tutorial job (issue 9): `velofield run --config inputs/pancreas.ini`
# at each rank count, REPEAT times (the fastest run is reported, as dynamo's figures are its warm
# second pass), with the wall time of the whole command (launch, MPI/PETSc/Kokkos start-up, read,
# every stage, write) and per stage (max over ranks), peak RSS per rank, next to dynamo's figures
# on this machine kind (../shared/reference/dynamo/README.md). Checkpoints are off, as a benchmark
# of the computation (they cost one full write each; see README).
#   usage: bash jobs/bench_tutorial.sh [VELOFIELD] [RANKS...]     env REPEAT (default 3), MPIEXEC
set -euo pipefail
VF=${1:-build/src/velofield}
shift $(( $# < 1 ? $# : 1 ))
RANKS=("$@")
[ ${#RANKS[@]} -eq 0 ] && RANKS=(1 2)
REPEAT=${REPEAT:-3}
MPIEXEC=${MPIEXEC:-mpirun --quiet --oversubscribe --bind-to none}
CONFIG=${CONFIG:-inputs/pancreas.ini}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_mpi_yield_when_idle=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "tutorial benchmark: $CONFIG, $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg), best of $REPEAT"
for np in "${RANKS[@]}"; do
  for i in $(seq 1 "$REPEAT"); do
    start=$(date +%s%N)
    # shellcheck disable=SC2086
    $MPIEXEC -n "$np" "$VF" run --config "$CONFIG" -q --run.output "$work/out.h5ad" --run.checkpoint false \
      --timings "$work/np${np}_$i.json" </dev/null
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 ))e-3" > "$work/np${np}_$i.wall"
  done
done
/usr/bin/python3 - "$work" "$REPEAT" "${RANKS[@]}" <<'PY'
import json, sys
work, repeat, ranks = sys.argv[1], int(sys.argv[2]), [int(r) for r in sys.argv[3:]]
dynamo = {"read": 0.13, "preprocess": 0.70, "moments": 7.08, "dynamics": 7.42, "umap": 9.66,
          "cell-velocities": 3.64 + 0.53, "vectorfield": 0.75, "vectorfield:umap": 0.68,
          "topography": 4.94, "perturbation": 5.56}
best = {}
for r in ranks:
    runs = [(float(open(f"{work}/np{r}_{i}.wall").read()), json.load(open(f"{work}/np{r}_{i}.json"))) for i in range(1, repeat + 1)]
    best[r] = min(runs, key=lambda x: x[0])
top = [s["stage"] for s in best[ranks[0]][1]["stages"] if ":" not in s["stage"] or s["stage"].startswith(("vectorfield:", "plot:"))]
top = [s for s in top if "." not in s]
head = "| stage | " + " | ".join(f"{r} rank{'s' if r > 1 else ''} s | peak RSS MiB/rank" for r in ranks) + " | dynamo s | × faster (2 ranks) |"
print(head); print("|" + "---|" * (head.count("|") - 1))
for name in top:
    cells = []
    for r in ranks:
        st = {s["stage"]: s for s in best[r][1]["stages"]}[name]
        cells += [f"{st['wall_seconds']:.3f}", f"{max(st['peak_rss_bytes_per_rank']) / 2**20:.0f}"]
    d = dynamo.get(name)
    last = {s["stage"]: s for s in best[ranks[-1]][1]["stages"]}[name]["wall_seconds"]
    print(f"| {name} | " + " | ".join(cells) + f" | {d if d is not None else '—'} | {f'{d / last:.1f}' if d else '—'} |")
stage_sum = {r: sum(s["wall_seconds"] for s in best[r][1]["stages"] if s["stage"] in top) for r in ranks}
print("| stages total | " + " | ".join(f"{stage_sum[r]:.2f} | " for r in ranks) + " 41.1 | " + f"{41.1 / stage_sum[ranks[-1]]:.1f} |")
print("| whole command (launch + start-up + stages) | " + " | ".join(f"{best[r][0]:.2f} | " for r in ranks) + " 41.1 (50.3 cold) | " + f"{41.1 / best[ranks[-1]][0]:.1f} |")
PY
