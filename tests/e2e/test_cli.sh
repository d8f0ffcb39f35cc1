#!/usr/bin/env bash
# The CLI as a user meets it: help for every command, the main job on the pancreas data (or the
# simulated fallback), info output, timings JSON, option errors. At 1, 2 and 3 ranks.
# usage: test_cli.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
SHARED=${VELOFIELD_SHARED_DIR:-$ROOT/../shared}
PANCREAS=$SHARED/data/pancreas_supercell_3696x2000.h5ad
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
. "$(dirname "$0")/lib.sh"
mpi() { local np=$1; shift; timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n "$np" "$VF" "$@" < /dev/null; }

# Usage and help.
"$VF" > "$tmp/out" 2>&1; [ $? -eq 1 ] && grep -q "usage:" "$tmp/out" && ok "no arguments: usage, exit 1" || bad "no arguments"
"$VF" --help > "$tmp/help" 2>&1 && ok "--help" || bad "--help"
commands=$(awk '/^commands:/ {on=1; next} on && /^  [a-z]/ {print $1} /^$/ && on {on=0}' "$tmp/help")
for c in info convert run simulate evaluate; do
  echo "$commands" | grep -qx "$c" && ok "--help lists $c" || bad "--help does not list $c"
done
for c in $commands; do
  if "$VF" "$c" --help > "$tmp/out" 2>&1 && grep -q "usage: velofield $c" "$tmp/out" && grep -q -- "--timings" "$tmp/out"; then
    ok "$c --help"
  else
    bad "$c --help"; cat "$tmp/out"
  fi
done
"$VF" --version > "$tmp/out" 2>&1 && grep -q "PETSc" "$tmp/out" && grep -q "Kokkos" "$tmp/out" && ok "--version" || bad "--version"
"$VF" bogus > "$tmp/out" 2>&1; [ $? -eq 2 ] && grep -q "unknown command 'bogus'" "$tmp/out" && ok "unknown command" || bad "unknown command"
"$VF" info --bogus x > "$tmp/out" 2>&1; [ $? -eq 1 ] && grep -q "unknown option '--bogus'" "$tmp/out" && ok "unknown option" || { bad "unknown option"; cat "$tmp/out"; }
"$VF" convert only_one.h5ad > "$tmp/out" 2>&1; [ $? -eq 1 ] && grep -q "'--out' is required" "$tmp/out" && ok "missing positional" || { bad "missing positional"; cat "$tmp/out"; }

if [ -f "$PANCREAS" ]; then
  # info: the same summary at every rank count.
  for np in 1 2 3; do mpi $np info "$PANCREAS" > "$tmp/info$np" 2>&1; done
  grep -q "AnnData object with n_obs × n_vars = 3696 × 2000" "$tmp/info1" && ok "info: n_obs × n_vars" || bad "info: header"
  grep -q "    layers: 'spliced', 'unspliced'" "$tmp/info1" && ok "info: layers" || bad "info: layers"
  grep -q "obs/clusters .*categorical (8 categories)" "$tmp/info1" && ok "info: clusters" || bad "info: clusters"
  cmp -s "$tmp/info1" "$tmp/info2" && cmp -s "$tmp/info1" "$tmp/info3" && ok "info identical at 1, 2, 3 ranks" || bad "info differs across ranks"

  # The main job, as the README runs it, at 2 ranks, with timings.
  mpi 2 run --config "$ROOT/inputs/pancreas.ini" --run.output "$tmp/main.h5ad" --timings "$tmp/t.json" > "$tmp/out" 2>&1 \
    && ok "main job (pancreas, 2 ranks)" || { bad "main job"; cat "$tmp/out"; }
  grep -q "\[read\] done in" "$tmp/out" && grep -q "\[write\] done in" "$tmp/out" && ok "main job logs stage times" || bad "main job stage log"
  $PY - "$tmp/main.h5ad" "$tmp/t.json" <<'PY' && ok "main job output and timings" || bad "main job output/timings"
import json, sys
import anndata as ad
a = ad.read_h5ad(sys.argv[1])
assert a.shape == (3696, 2000), a.shape
assert set(a.layers.keys()) >= {"spliced", "unspliced"}
t = json.load(open(sys.argv[2]))["stages"]
names = [s["stage"] for s in t]
assert names[0] == "read" and names[-1] == "write", names
for s in t:
    assert s["ranks"] == 2, s
    assert len(s["peak_rss_bytes_per_rank"]) == 2 and min(s["peak_rss_bytes_per_rank"]) > 0, s
    assert s["wall_seconds"] >= 0, s
for s in (t[0], t[-1]):   # read and write see the whole dataset (sub-steps may report their own sizes)
    assert s["cells"] == 3696 and s["genes"] == 2000, s
PY
else
  echo "SKIPPED: $PANCREAS is absent (CI has it): info/main-job checks on the pancreas data"
fi

# The fallback: no input file → the [simulate] section's dataset (3696 cells in inputs/demo.ini).
mpi 3 run --config "$ROOT/inputs/demo.ini" --run.input "$tmp/absent.h5ad" --run.output "$tmp/sim.h5ad" \
  --simulate.genes 50 --run.stages "" > "$tmp/out" 2>&1 && grep -q "simulating" "$tmp/out" && ok "main job falls back to a simulation" \
  || { bad "simulation fallback"; cat "$tmp/out"; }
$PY -c "import anndata as ad, sys; a = ad.read_h5ad(sys.argv[1]); assert a.shape == (3696, 50), a.shape" "$tmp/sim.h5ad" \
  && ok "simulated fallback has 3696 × 50 (config + override)" || bad "simulated fallback shape"
# Overrides of unknown sections/keys are errors.
mpi 2 run --config "$ROOT/inputs/pancreas.ini" --nosuchstage.n_neighbors 30 > "$tmp/out" 2>&1
[ $? -ne 0 ] && grep -q "unknown section" "$tmp/out" && ok "unknown config section" || { bad "unknown config section"; cat "$tmp/out"; }

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
