#!/usr/bin/env bash
# h5ad read/write throughput and memory, next to dd on the same disk.
#   bash jobs/bench_io.sh [CELLS=200000] [GENES=2000] [DENSITY=0.1] [WORKDIR=/tmp/velofield-bench-io]
# Makes a CELLS × GENES file with the simulator (X, spliced, unspliced as CSR float32 at ~DENSITY),
# then times `velofield convert` (read + write) at 1 and 2 ranks from a cold page cache where the
# kernel lets us drop it (root), and reports seconds, MB/s, peak RSS per rank and the ratio of peak
# RSS to the bytes of the rank's slab. Targets (issue 2): >= 50% of dd's throughput; RSS <= 1.5× slab.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
CELLS=${1:-200000}; GENES=${2:-2000}; DENSITY=${3:-0.1}; WORK=${4:-/tmp/velofield-bench-io}
VF=${VELOFIELD:-$HERE/build/src/velofield}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mkdir -p "$WORK"
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "  (cannot drop the page cache: not root; numbers include cached reads)"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s={x['stage']:x for x in d['stages']}; print(eval(sys.argv[2]))" "$@"; }

IN=$WORK/in.h5ad
if [ ! -f "$IN" ]; then
  echo "making $CELLS × $GENES at density $DENSITY ..."
  mpirun --oversubscribe --bind-to none -n 2 "$VF" simulate --cells "$CELLS" --genes "$GENES" --density "$DENSITY" \
    --truth-max-entries 0 --out "$IN" -q
fi
SIZE=$(stat -c %s "$IN")
MB=$(echo "$SIZE / 1000000" | bc -l)
printf "input: %s, %.1f MB\n" "$IN" "$MB"

# dd on the same disk: sequential write (fdatasync) and cold read of a file of the same size.
COUNT=$(( SIZE / 1048576 + 1 ))
DD_W=$( { dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=$COUNT conv=fdatasync 2>&1; } | awk '/copied/ {print $(NF-1), $NF}')
drop_caches
DD_R=$( { dd if="$WORK/dd.bin" of=/dev/null bs=1M 2>&1; } | awk '/copied/ {print $(NF-1), $NF}')
rm -f "$WORK/dd.bin"
echo "dd: write $DD_W, read $DD_R"
to_mbs() { case "$2" in GB/s) echo "$1 * 1000" | bc -l;; MB/s) echo "$1";; kB/s) echo "$1 / 1000" | bc -l;; *) echo 0;; esac; }
DDW=$(to_mbs $DD_W); DDR=$(to_mbs $DD_R)

printf "\n%-6s %-7s %-8s %-8s %-7s %-9s %-10s %-10s %-9s\n" ranks stage seconds MB/s "vs dd" "RSS MiB" "base MiB" "slab MiB" "(RSS-base)/slab"
for np in 1 2; do
  drop_caches
  rm -f "$WORK/out.h5ad"
  mpirun --oversubscribe --bind-to none -n $np "$VF" convert "$IN" "$WORK/out.h5ad" -q --timings "$WORK/t$np.json"
  # fdatasync the written file so the write time is comparable with dd's conv=fdatasync.
  t0=$(date +%s.%N); sync "$WORK/out.h5ad"; t1=$(date +%s.%N)
  SYNC=$(echo "$t1 - $t0" | bc -l)
  SLAB=$(echo "$SIZE / $np / 1048576" | bc -l)
  for stage in read write; do
    SEC=$(json "$WORK/t$np.json" "s['$stage']['wall_seconds']")
    [ $stage = write ] && SEC=$(echo "$SEC + $SYNC" | bc -l)
    RSS=$(json "$WORK/t$np.json" "max(s['$stage']['peak_rss_bytes_per_rank'])/1048576")
    BASE=$(json "$WORK/t$np.json" "max(s['$stage']['baseline_rss_bytes_per_rank'])/1048576")
    RATE=$(echo "$MB / $SEC" | bc -l)
    REF=$DDR; [ $stage = write ] && REF=$DDW
    printf "%-6s %-7s %-8.2f %-8.1f %-7s %-9.0f %-10.0f %-10.0f %-9.2f\n" $np $stage "$SEC" "$RATE" \
      "$(printf '%.0f%%' "$(echo "100 * $RATE / $REF" | bc -l)")" "$RSS" "$BASE" "$SLAB" "$(echo "($RSS - $BASE) / $SLAB" | bc -l)"
  done
done
echo
echo "RSS is the process peak (VmHWM) after the stage, so the write row includes the read's data; base is"
echo "the RSS once MPI/PETSc/HDF5/Torch were loaded, before any data (what the slab is compared against);"
echo "the slab is the file's bytes divided by the ranks (X, spliced and unspliced CSR arrays)."
