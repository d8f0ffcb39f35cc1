#!/usr/bin/env bash
# `velofield vectorfield` on bad inputs: one line on stderr naming the file, the key and the
# problem, a non-zero exit, no output file and no hung rank, at 1 and 3 ranks. Also one good run
# (with NaN velocities, which dynamo leaves out of the fit) whose slots are checked with h5py.
# usage: test_vectorfield_bad_input.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
passed=0; failed=0
mpi() { local np=$1; shift; timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n "$np" "$VF" "$@" < /dev/null; }

# A small dataset with a 2-D embedding (X_true_2d) and velocities there (velocity_true_2d), and
# variants of it, each broken in one way.
mpi 1 simulate --cells 300 --genes 20 --seed 3 --out "$tmp/good.h5ad" -q || { echo "cannot simulate the input"; exit 1; }
$PY - "$tmp" <<'PY' || { echo "cannot make the bad inputs"; exit 1; }
import shutil, sys
import h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/good.h5ad", "r+") as f:
    v = f["obsm/true_velocity_true_2d"][...]
    v[[7, 100, 250]] = np.nan                   # cells without a velocity: left out of the fit
    ds = f["obsm"].create_dataset("velocity_true_2d", data=v)
    for k, a in f["obsm/X_true_2d"].attrs.items():
        ds.attrs[k] = a

def variant(name, edit):
    shutil.copy(f"{d}/good.h5ad", f"{d}/{name}.h5ad")
    with h5py.File(f"{d}/{name}.h5ad", "r+") as f:
        edit(f)

def setter(key, fn):
    def edit(f):
        a = f[key][...]
        fn(a)
        f[key][...] = a
    return edit

variant("zero_velocity", setter("obsm/velocity_true_2d", lambda a: a.fill(0)))
variant("nan_velocity", setter("obsm/velocity_true_2d", lambda a: a.fill(np.nan)))
variant("nan_embedding", setter("obsm/X_true_2d", lambda a: a.__setitem__((5, 1), np.nan)))
def few(a):
    a[10:] = 0                                  # cells 0..9 move, but cell 7 has no velocity
variant("few_moving_cells", setter("obsm/velocity_true_2d", few))
with open(f"{d}/ctrl_out_of_range.txt", "w") as out:
    out.write("3\n300\n")
PY

check_error() {   # name file key words -- velofield args...
  local name=$1 file=$2 key=$3 words=$4; shift 5
  for np in 1 3; do
    rm -f "$tmp/out.h5ad"
    mpi "$np" vectorfield "$@" "$tmp/out.h5ad" -q > "$tmp/stdout" 2> "$tmp/stderr"
    local rc=$? problems=""
    [ $rc -eq 0 ] && problems+=" exit code 0;"
    [ $rc -eq 124 ] && problems+=" timed out (a rank hung);"
    local lines; lines=$(grep -c . "$tmp/stderr")
    [ "$lines" -ne 1 ] && problems+=" expected 1 line on stderr, got $lines;"
    grep -q -F -- "$(basename -- "$file")" "$tmp/stderr" || problems+=" message does not name the file;"
    grep -q -F -- "$key" "$tmp/stderr" || problems+=" message does not name key '$key';"
    grep -q -F -- "$words" "$tmp/stderr" || problems+=" message does not say '$words';"
    ls "$tmp" | grep -q "out.h5ad" && problems+=" an output file was written;"
    if [ -z "$problems" ]; then
      passed=$((passed + 1)); echo "ok   $name (np=$np): $(cat "$tmp/stderr")"
    else
      failed=$((failed + 1)); echo "FAIL $name (np=$np):$problems"; sed 's/^/     stderr: /' "$tmp/stderr"
    fi
  done
}

B="--basis true_2d"
check_error fewer_cells_than_control_points "$tmp/good.h5ad" "M" "fewer cells than control points" -- "$tmp/good.h5ad" $B --M 1000
check_error zero_velocities "$tmp/zero_velocity.h5ad" "obsm/velocity_true_2d" "every velocity is zero" -- "$tmp/zero_velocity.h5ad" $B --M 20
check_error nan_velocities "$tmp/nan_velocity.h5ad" "obsm/velocity_true_2d" "no cell has a finite velocity" -- "$tmp/nan_velocity.h5ad" $B --M 20
check_error nan_embedding "$tmp/nan_embedding.h5ad" "obsm/X_true_2d" "1 NaN/Inf value(s) (first in cell 5)" -- "$tmp/nan_embedding.h5ad" $B --M 20
check_error too_few_moving_cells "$tmp/few_moving_cells.h5ad" "obsm/velocity_true_2d" "only 9 cells have a finite, nonzero velocity" -- "$tmp/few_moving_cells.h5ad" $B --M 20
check_error missing_basis "$tmp/good.h5ad" "obsm/X_umap" "not present" -- "$tmp/good.h5ad" --basis umap
check_error control_point_file "$tmp/ctrl_out_of_range.txt" "line 2" "cell index 300 is outside [0, 300)" -- "$tmp/good.h5ad" $B --ctrl_idx "$tmp/ctrl_out_of_range.txt"
# An option error names the option (there is no file to name).
check_error bad_solver "--vectorfield" "lstsq_method" "expected cholesky or drouin" -- "$tmp/good.h5ad" $B --lstsq_method qr

# The good input at 1 and 3 ranks: the fit runs, the slots are there, the NaN-velocity cells have
# no posterior, and the two runs agree.
for np in 1 3; do
  if mpi "$np" vectorfield "$tmp/good.h5ad" "$tmp/good_np$np.h5ad" $B --M 60 --jacobian_cells 0,150,299 -q > "$tmp/stdout" 2> "$tmp/stderr"; then
    passed=$((passed + 1)); echo "ok   good input runs (np=$np)"
  else
    failed=$((failed + 1)); echo "FAIL good input (np=$np)"; sed 's/^/     stderr: /' "$tmp/stderr"
  fi
done
if $PY - "$tmp" <<'PY'; then passed=$((passed + 1)); echo "ok   slots of the good runs"; else failed=$((failed + 1)); echo "FAIL slots of the good runs"; fi
import sys
import h5py, numpy as np
d = sys.argv[1]
runs = [h5py.File(f"{d}/good_np{n}.h5ad", "r") for n in (1, 3)]
problems = []
for f in runs:
    vf = f["uns/VecFld_true_2d"]
    for k in ("X_ctrl", "C", "beta", "sigma2", "iteration", "E_traj", "tecr_traj", "grid", "grid_V", "ctrl_idx", "X", "Y", "V", "P"):
        if k not in vf:
            problems.append(f"uns/VecFld_true_2d/{k} missing")
    if vf["X_ctrl"].shape != (60, 2) or vf["grid"].shape != (2500, 2):
        problems.append("X_ctrl or grid has the wrong shape")
    p = f["obs/inlier_prob_true_2d"][...]
    if not (np.isnan(p[[7, 100, 250]]).all() and np.isfinite(np.delete(p, [7, 100, 250])).all()):
        problems.append("inlier_prob is not NaN exactly at the cells without a velocity")
    if f["obs/control_point_true_2d"][...].sum() != 60:
        problems.append("control_point_true_2d does not flag 60 cells")
    if f["uns/jacobian_true_2d/jacobian"].shape != (2, 2, 3):
        problems.append("jacobian_true_2d has the wrong shape")
    v = f["obsm/velocity_true_2d_SparseVFC"][...]
    if not np.isfinite(v).all():
        problems.append("the field is not finite at every cell")
    # dynamo evaluates the stored field as exp(-beta |x - c|^2) @ C: it must reproduce V.
    X, c, C, b = f["obsm/X_true_2d"][...], vf["X_ctrl"][...], vf["C"][...], vf["beta"][()]
    K = np.exp(-b * ((X[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    if np.abs(K @ C - v).max() > 1e-10 * np.abs(v).max():
        problems.append("exp(-beta |x - X_ctrl|^2) @ C does not reproduce velocity_true_2d_SparseVFC")
a, b = (r["obsm/velocity_true_2d_SparseVFC"][...] for r in runs)
if np.abs(a - b).max() > 1e-8 * np.abs(b).max():
    problems.append("1 and 3 ranks disagree")
if (runs[0]["uns/VecFld_true_2d/ctrl_idx"][...] != runs[1]["uns/VecFld_true_2d/ctrl_idx"][...]).any():
    problems.append("1 and 3 ranks drew different control points")
for p in problems:
    print("     " + p)
sys.exit(1 if problems else 0)
PY

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
