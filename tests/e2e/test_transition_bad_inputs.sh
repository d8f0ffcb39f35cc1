#!/usr/bin/env bash
# Inputs cell-velocities cannot use (issue 7): velocity with no transition genes, NaN velocities, a
# basis that does not exist, no kNN graph. Each gives one error line naming the file and the
# problem, a non-zero exit, no output file and no hung rank, at 1 and 3 ranks, through both
# `velofield cell-velocities IN OUT` and `velofield run` with [run] stages = cell-velocities. The good
# file goes through both ways, and anndata reads what it wrote.
#   usage: test_transition_bad_inputs.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
. "$(dirname "$0")/lib.sh"

# 240 cells moving along a curve in 25 genes: M_s, velocity_S, the directed 30-NN as
# obsp/distances, X_umap = two coordinates of the curve.
$PY - "$tmp" <<'PY' || { echo "cannot make the inputs"; exit 1; }
import sys
import anndata
import numpy as np
import scipy.sparse as sp

out = sys.argv[1]
rng = np.random.default_rng(0)
n, g, k = 240, 25, 30
t = np.sort(rng.uniform(0, 1, n))
phase = rng.uniform(0, 2 * np.pi, g)
M_s = (1.5 + np.sin(4 * t[:, None] + phase)) + 0.05 * rng.standard_normal((n, g))
V = 4 * np.cos(4 * t[:, None] + phase)
d2 = ((M_s[:, None, :] - M_s[None, :, :]) ** 2).sum(-1)
rows, cols, vals = [], [], []
for i in range(n):
    order = [j for j in np.argsort(d2[i], kind="stable") if j != i][: k - 1]
    rows += [i] * len(order); cols += order; vals += list(np.sqrt(d2[i, order]))
dist = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
umap = np.stack([np.cos(2 * t), np.sin(2 * t)], 1) + 0.01 * rng.standard_normal((n, 2))

def write(name, use=None, velocity=None, graph=True):
    a = anndata.AnnData(X=sp.csr_matrix(M_s.astype(np.float32)))
    a.obs_names = [f"c{i}" for i in range(n)]
    a.var_names = [f"Gene{j}" for j in range(g)]
    a.layers["M_s"] = M_s
    a.layers["velocity_S"] = V if velocity is None else velocity
    a.var["use_for_transition"] = np.ones(g, bool) if use is None else use
    a.obsm["X_umap"] = umap
    if graph:
        a.obsp["distances"] = dist
    a.write_h5ad(f"{out}/{name}.h5ad")

write("good")
write("no_transition_genes", use=np.zeros(g, bool))
nan_v = V.copy(); nan_v[200, 3] = np.nan
write("nan_velocity", velocity=nan_v)
write("no_graph", graph=False)
PY

check() {   # name how words np [extra stage options]
  local name=$1 how=$2 words=$3 np=$4; shift 4
  local out="$tmp/out_${name}_$np"
  rm -rf "$out"; mkdir -p "$out"
  run_bad cell-velocities "$how" "$tmp/$name.h5ad" "$out/result.h5ad" "$np" "" "$@"
  verdict $? "$name" "$words" "$out" "$name ($how, np=$np)"
}

for np in 1 3; do
  for how in stage run; do
    check no_transition_genes "$how" "var/use_for_transition: no gene is marked for transition (0 of 25)" "$np"
    check nan_velocity "$how" "layers/velocity_S: 1 NaN/Inf value(s) in the transition genes (first: cell 200, gene 'Gene3')" "$np"
    check good "$how" "obsm/X_tsne: not present" "$np" --basis tsne
    check no_graph "$how" "obsp/distances: not present" "$np"
  done
done

# The good file goes through, as a stage and in a pipeline, and anndata reads the result.
for how in stage run; do
  rm -f "$tmp/good_$how.h5ad"
  if [ $how = stage ]; then
    timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" cell-velocities "$tmp/good.h5ad" "$tmp/good_$how.h5ad" -q \
      > "$tmp/stdout" 2> "$tmp/stderr"
  else
    printf '[run]\ninput = %s\noutput = %s\nstages = cell-velocities\nsimulate_if_missing = false\ncount_layers =\n[cell-velocities]\nmethod = pearson\ntransform = sqrt\nbases = umap\n' \
      "$tmp/good.h5ad" "$tmp/good_$how.h5ad" > "$tmp/run.ini"
    timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" run --config "$tmp/run.ini" -q > "$tmp/stdout" 2> "$tmp/stderr"
  fi
  if [ $? -eq 0 ] && $PY - "$tmp/good_$how.h5ad" <<'PY'
import sys
import anndata
import numpy as np
a = anndata.read_h5ad(sys.argv[1])
T = a.obsp["pearson_transition_matrix"]
assert T.shape == (240, 240) and T.nnz > 240 * 40, T
assert T.diagonal().max() == 0 and (T.data != 0).all()
v = a.obsm["velocity_umap"]
assert v.shape == (240, 2) and np.isfinite(v).all()
# Cells move along increasing t, i.e. counter-clockwise on the circle of X_umap.
e = a.obsm["X_umap"]
tangent = np.stack([-e[:, 1], e[:, 0]], 1)
cos = (v * tangent).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(tangent, axis=1)
assert np.median(cos) > 0.8, np.median(cos)
g = a.uns["grid_velocity_umap"]
assert g["X_grid"].shape == (2, 50) and g["V_grid"].shape == (2, 50, 50) and g["D"].shape == (2500, 2, 2)
print(f"median cosine with the direction of motion {np.median(cos):.3f}")
PY
  then
    passed=$((passed + 1)); echo "ok   good input ($how)"
  else
    failed=$((failed + 1)); echo "FAIL good input ($how)"; cat "$tmp/stderr"
  fi
done

echo "cell-velocities bad inputs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
