#!/usr/bin/env bash
# A model training job killed mid-way resumes from its checkpoint (issue 10). `velofield dynamics
# --method velovi --velovi_checkpoint CK.h5` at 2 ranks gets SIGKILL on every process (as when a node
# dies or Slurm kills a job) after a few epochs; the same command run again says "resuming from CK.h5
# at epoch E" and writes the same velocity, latent time and uncertainty, bit for bit, as one
# uninterrupted run with the same seed. The killed run leaves no output file.
#   usage: test_model_resume_after_kill.sh PATH/TO/velofield
set -uo pipefail
VF=$(readlink -f "${1:?usage: $0 PATH/TO/velofield}")
MPI=${MPIEXEC:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'pkill -KILL -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mpi() { timeout 600 "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" "$@" </dev/null; }

# A small simulated dataset through the tutorial's preprocess and moments.
timeout 120 "$MPI" --quiet -n 1 "$VF" simulate --cells 1500 --genes 120 --seed 5 --out "$tmp/sim.h5ad" -q </dev/null \
  || fail "simulate failed"
mpi run --config "$ROOT/inputs/pancreas.ini" --run.input "$tmp/sim.h5ad" --run.stages "preprocess, moments" \
  --run.output "$tmp/base.h5ad" --run.checkpoint false -q || fail "preprocess/moments failed"
EPOCHS=40
train() {   # train NAME: dynamics to $tmp/NAME.h5ad with checkpoint $tmp/NAME_ck.h5, log in $tmp/NAME.log
  mpi dynamics "$tmp/base.h5ad" "$tmp/$1.h5ad" --method velovi --max_epochs $EPOCHS --velovi_checkpoint "$tmp/$1_ck.h5" \
    > "$tmp/$1.log" 2>&1
}

train straight || { cat "$tmp/straight.log"; fail "the uninterrupted run failed"; }

# The same job, killed with SIGKILL once its log shows epoch 8 (checkpoints are written after every epoch).
train killed &
job=$!
for _ in $(seq 1200); do
  grep -q "velovi: epoch 8/$EPOCHS" "$tmp/killed.log" 2>/dev/null && break
  kill -0 $job 2>/dev/null || break
  sleep 0.1
done
grep -q "velovi: epoch 8/$EPOCHS" "$tmp/killed.log" || { cat "$tmp/killed.log"; fail "the run to kill never reached epoch 8"; }
pkill -KILL -f "$tmp/killed.h5ad"
wait $job 2>/dev/null
[ -e "$tmp/killed.h5ad" ] && fail "the killed run left an output file"
[ -f "$tmp/killed_ck.h5" ] || fail "the killed run left no checkpoint"
echo "ok   killed after $(grep -c "velovi: epoch" "$tmp/killed.log") logged epochs; checkpoint present, no output"

# The same command again: it resumes and ends where the uninterrupted run did.
train killed || { cat "$tmp/killed.log"; fail "the resumed run failed"; }
resumed=$(grep -o "resuming from .* at epoch [0-9]*" "$tmp/killed.log") || { cat "$tmp/killed.log"; fail "the second run did not resume"; }
echo "ok   $resumed"
$PY - "$tmp/straight.h5ad" "$tmp/killed.h5ad" <<'PY' || fail "the resumed run's results differ from the uninterrupted run's"
import sys
import h5py
import numpy as np

a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
def read(f, key):
    x = f[key]
    return x[()] if isinstance(x, h5py.Dataset) else x["data"][()]
for key in ["layers/velocity_S", "layers/latent_time_velovi", "obs/velocity_uncertainty", "obs/velovi_latent_time"]:
    x, y = read(a, key), read(b, key)
    if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
        print(f"FAIL {key}: max |diff| {np.nanmax(np.abs(x - y)) if x.shape == y.shape else 'shapes differ'}")
        sys.exit(1)
    print(f"ok   {key}: {x.shape} bitwise equal to the uninterrupted run")
PY
echo "model resume after kill: passed"
