#!/usr/bin/env bash
#SBATCH --job-name=velofield-bench-simulate
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --time=00:30:00
# Benchmark: simulate and write an atlas-size dataset (default 1M cells x 2,000 genes) at 1 and 2
# ranks, reporting wall seconds (simulate, write, total), write MB/s, peak RSS per rank and file size.
# Targets (issue 3): under 3 minutes at 2 ranks, peak RSS under 4 GB per rank.
#
# usage: bash jobs/bench_simulate.sh [VELOFIELD] [CELLS] [GENES] [RANKS...]
#   env MPIEXEC  launcher (default: mpiexec --bind-to none; under Slurm e.g. MPIEXEC=srun)
#   env OUTDIR   where the files go (default: a temporary directory, removed at the end)
#   env EXTRA    extra simulate options (e.g. "--density 0.2 --noise nb")
set -euo pipefail
VELOFIELD=${1:-build/src/velofield}
CELLS=${2:-1000000}
GENES=${3:-2000}
shift $(( $# < 3 ? $# : 3 ))
RANKS=("$@")
[ ${#RANKS[@]} -eq 0 ] && RANKS=(1 2)
MPIEXEC=${MPIEXEC:-mpiexec --bind-to none}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
if [ -n "${OUTDIR:-}" ]; then work=$OUTDIR; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi

echo "velofield simulate benchmark: $CELLS cells x $GENES genes, ranks: ${RANKS[*]} ($(hostname), $(nproc --all) cores)"
printf "%-6s %10s %10s %10s %10s %14s %10s\n" ranks simulate_s write_s total_s write_MB/s peak_RSS_MiB file_MB
for n in "${RANKS[@]}"; do
  out="$work/sim_${CELLS}x${GENES}_np$n.h5ad"
  timings="$work/timings_np$n.json"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  $MPIEXEC -n "$n" "$VELOFIELD" simulate --cells "$CELLS" --genes "$GENES" --seed 1 ${EXTRA:-} \
    --out "$out" --timings "$timings" -q
  end=$(date +%s.%N)
  python3 - "$timings" "$out" "$n" "$start" "$end" <<'PY'
import json, os, sys
timings, out, n, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
stages = {s["stage"]: s for s in json.load(open(timings))["stages"]}
size = os.path.getsize(out) / 1e6
write = stages["write"]["wall_seconds"]
rss = max(max(s["peak_rss_bytes_per_rank"]) for s in stages.values()) / 2**20
per_rank = "/".join(f"{b / 2**20:.0f}" for b in stages["write"]["peak_rss_bytes_per_rank"])
print(f"{n:<6d} {stages['simulate']['wall_seconds']:10.1f} {write:10.1f} {end - start:10.1f} {size / write:10.0f} "
      f"{rss:8.0f} ({per_rank}) {size:10.0f}")
PY
  rm -f "$out"
done
