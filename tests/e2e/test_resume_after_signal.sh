#!/usr/bin/env bash
# Checkpoint and restart as Slurm uses them (issue 11): a 2-rank pipeline gets SIGTERM in the middle
# of a stage (what `sbatch --signal` or a time limit sends to every task). Checked:
#   - the stage in progress finishes, a checkpoint is written, the run exits with 75 (requeue) and
#     leaves no output file; the checkpoint says which stages completed and that it is not complete;
#   - `--resume` with a changed config is refused (one error line, non-zero exit, no output);
#   - `--resume` with the same config runs the remaining stages only, removes the checkpoint, and
#     writes the same file, slot for slot and bit for bit, as an uninterrupted run.
#   usage: test_resume_after_signal.sh PATH/TO/velofield
set -uo pipefail
VF=$(readlink -f "${1:?usage: $0 PATH/TO/velofield}")
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'pkill -KILL -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$tmp/job.ini" <<'INI'
[run]
input = never_there.h5ad
output = out/result.h5ad
checkpoint_interval = 0
stages = preprocess, moments, dynamics, umap, cell-velocities, vectorfield:umap
[cell-velocities]
bases = umap
[vectorfield:umap]
basis = umap
[umap]
n_epochs = 3000
[simulate]
cells = 2500
genes = 300
lineages = 2
seed = 3
INI
run() { $MPI --quiet --oversubscribe --bind-to none -n 2 "$VF" run --config "$tmp/job.ini" "$@" </dev/null; }

# The reference: one uninterrupted run.
run --run.output "$tmp/full.h5ad" -q > "$tmp/full.log" 2>&1 || { cat "$tmp/full.log"; fail "the uninterrupted run failed"; }

# SIGTERM to both ranks while the umap stage runs.
run -v > "$tmp/stop.log" 2>&1 &
launcher=$!
for _ in $(seq 1 1200); do
  grep -q "\[umap\] start" "$tmp/stop.log" 2>/dev/null && break
  sleep 0.05
done
grep -q "\[umap\] start" "$tmp/stop.log" || { kill -KILL $launcher; cat "$tmp/stop.log"; fail "the umap stage never started"; }
sleep 0.2
# The ranks (as Slurm signals every task), not the launcher.
pkill -TERM -f "^$VF run --config $tmp/job.ini" || fail "no velofield process to signal"
wait $launcher
code=$?
[ $code -eq 75 ] || { tail -20 "$tmp/stop.log"; fail "a stopped run must exit with 75 (requeue), got $code"; }
grep -q "\[umap\] done" "$tmp/stop.log" || fail "the stage in progress (umap) did not finish before the stop"
grep -q "continue with: velofield run --config .* --resume" "$tmp/stop.log" || fail "no resume hint in the log"
[ ! -e "$tmp/out/result.h5ad" ] || fail "a stopped run left an output file"
[ -f "$tmp/out/result.checkpoint.h5ad" ] || fail "no checkpoint after the stop"
$PY - "$tmp/out/result.checkpoint.h5ad" <<'PY' || fail "the checkpoint's run record is wrong"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    rec = f["uns/velofield"]
    done = [s.decode() if isinstance(s, bytes) else str(s) for s in rec["completed_stages"][()]]
    complete = bool(rec["complete"][()])
    print("checkpoint: completed", done, "complete", complete)
    assert done[:4] == ["preprocess", "moments", "dynamics", "umap"], done
    assert "vectorfield:umap" not in done, done
    assert not complete
    assert "X_umap" in f["obsm"]
PY

# A changed config is refused and touches nothing.
cp "$tmp/out/result.checkpoint.h5ad" "$tmp/before.h5ad"
run --resume --moments.n_neighbors 20 > "$tmp/refused.log" 2>&1 && fail "a resume with another config must be refused"
grep -q "made with another config" "$tmp/refused.log" || { cat "$tmp/refused.log"; fail "no clear message for the changed config"; }
[ ! -e "$tmp/out/result.h5ad" ] || fail "a refused resume wrote an output"
cmp -s "$tmp/before.h5ad" "$tmp/out/result.checkpoint.h5ad" || fail "a refused resume changed the checkpoint"

# The same config resumes after umap and ends with the uninterrupted run's file.
run --resume > "$tmp/resume.log" 2>&1 || { cat "$tmp/resume.log"; fail "--resume failed"; }
grep -q "resuming from" "$tmp/resume.log" || fail "--resume did not read the checkpoint"
if grep -q "\[umap\] start" "$tmp/resume.log"; then fail "--resume ran a completed stage again"; fi
[ -f "$tmp/out/result.h5ad" ] || fail "no output after --resume"
[ ! -e "$tmp/out/result.checkpoint.h5ad" ] || fail "the checkpoint was not removed after the final write"
"$VF" diff "$tmp/full.h5ad" "$tmp/out/result.h5ad" --ignore uns/velofield > "$tmp/diff.log" 2>&1 ||
  { cat "$tmp/diff.log"; fail "the resumed file differs from the uninterrupted run"; }
echo "PASS: stopped during umap (exit 75), changed config refused, resumed file identical to an uninterrupted run"
