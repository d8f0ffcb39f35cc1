#!/usr/bin/env bash
# An output file is never half-written. A 2-rank pipeline that checkpoints after every stage is
# killed (SIGKILL to every rank at once, as when a node dies) at seeded random points of its run;
# after each kill the output and the checkpoint are each either absent or a complete file (anndata
# opens it and it holds what its run record says), and `run --resume` finishes the job with the
# same result as an uninterrupted run. Temporary files of a killed write (.NAME.partial.PID) may
# remain; they never carry the output's or the checkpoint's name.
#   usage: test_kill_output.sh PATH/TO/velofield [KILLS]
set -uo pipefail
VF=$1
KILLS=${2:-6}
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
. "$(dirname "$0")/lib.sh"
run() { timeout 600 "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" run --config "$tmp/job.ini" -q "$@" < /dev/null; }

timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n 1 "$VF" simulate --cells 3000 --genes 300 --seed 4 --out "$tmp/in.h5ad" -q \
  < /dev/null || { echo "cannot simulate the input"; exit 1; }
cat > "$tmp/job.ini" <<INI
[run]
input = $tmp/in.h5ad
output = $tmp/out/result.h5ad
stages = preprocess, moments, dynamics
simulate_if_missing = false
checkpoint = true
checkpoint_interval = 0
[preprocess]
n_pca_components = 20
INI

# The uninterrupted run: the reference result, and the length of the run the kills are spread over.
start=$(date +%s%N)
run > "$tmp/log" 2>&1 || { echo "the uninterrupted run failed"; cat "$tmp/log"; exit 1; }
length_ms=$(( ($(date +%s%N) - start) / 1000000 ))
mv "$tmp/out/result.h5ad" "$tmp/reference.h5ad"
echo "uninterrupted run: ${length_ms} ms"

# valid FILE: prints what the file is, exit 0 when it is a complete .h5ad whose slots match its run
# record (a complete result has velocity_S; a checkpoint has the slots of its completed stages).
valid() {
  $PY - "$1" <<'PY'
import sys
import anndata
import h5py
path = sys.argv[1]
a = anndata.read_h5ad(path)
with h5py.File(path, "r") as f:
    rec = f["uns/velofield"]
    done = [s.decode() if isinstance(s, bytes) else str(s) for s in rec["completed_stages"][...]]
    complete = bool(rec["complete"][()]) if "complete" in rec else False
needs = {"preprocess": ("obsm", "X_pca"), "moments": ("layers", "M_s"), "dynamics": ("layers", "velocity_S")}
for stage in done:
    slot, key = needs[stage]
    assert key in getattr(a, slot), f"{path}: run record says {stage} is done but {slot}/{key} is missing"
if path.endswith("result.h5ad"):
    assert complete and done == ["preprocess", "moments", "dynamics"], f"{path}: not a complete result: {done}"
print(f"complete file, stages done: {', '.join(done)}, shape {a.shape}")
PY
}

# Seeded kill points between 5% and 100% of the uninterrupted run's length.
delays=$(awk -v n="$KILLS" -v len="$length_ms" 'BEGIN { srand(20240613); for (i = 0; i < n; i++) printf "%d ", len * (0.05 + 0.95 * rand()) }')
for delay in $delays; do
  rm -rf "$tmp/out"
  "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" run --config "$tmp/job.ini" -q < /dev/null > "$tmp/log" 2>&1 &
  launcher=$!
  sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
  ranks=$(ps -o pid= --ppid "$launcher" | tr '\n' ' ')
  [ -n "$ranks" ] && kill -KILL $ranks 2> /dev/null
  wait "$launcher" 2> /dev/null
  state="output $( [ -e "$tmp/out/result.h5ad" ] && echo present || echo absent), checkpoint $( [ -e "$tmp/out/result.checkpoint.h5ad" ] && echo present || echo absent)"
  problems=""
  for f in "$tmp/out/result.h5ad" "$tmp/out/result.checkpoint.h5ad"; do
    if [ -e "$f" ]; then
      what=$(valid "$f" 2>&1) || problems+=" $(basename "$f") is not a complete file: $what;"
    fi
  done
  partial=$(ls -A "$tmp/out" 2> /dev/null | grep -c '\.partial\.')
  # Resuming finishes the job, with exactly the uninterrupted result.
  if run --resume > "$tmp/resume_log" 2>&1; then
    "$VF" diff "$tmp/reference.h5ad" "$tmp/out/result.h5ad" --ignore uns/velofield > "$tmp/diff" 2>&1 \
      || problems+=" the resumed result differs: $(cat "$tmp/diff");"
  else
    problems+=" --resume failed: $(tail -3 "$tmp/resume_log");"
  fi
  if [ -z "$problems" ]; then
    ok "SIGKILL at ${delay} ms: $state, $partial temporary file(s) left; --resume gives the uninterrupted result"
  else
    bad "SIGKILL at ${delay} ms ($state):$problems"
  fi
done

echo "kill: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
