#!/usr/bin/env bash
# Inputs the moments and umap stages cannot use (issue 5): fewer cells than neighbours, no X_pca,
# NaN in the embedding, no normalised layers. Each gives one error line naming the file and the
# problem, a non-zero exit, no output file and no hung rank, at 1 and 3 ranks, through both
# `velofield STAGE IN OUT` and `velofield run`. A good file goes through both stages.
#   usage: test_moments_bad_inputs.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
. "$(dirname "$0")/lib.sh"

# Small AnnData files as preprocess leaves them: X_pca, X_spliced / X_unspliced, var/use_for_pca.
$PY - "$tmp" <<'PY' || { echo "cannot make the inputs"; exit 1; }
import sys
import anndata
import numpy as np
import scipy.sparse as sp

out = sys.argv[1]
rng = np.random.default_rng(0)

def write(name, cells, pca=True, layers=True, nan_cell=None):
    s = sp.csr_matrix(rng.poisson(1.0, size=(cells, 50)).astype(np.float32))
    u = sp.csr_matrix(rng.poisson(0.5, size=(cells, 50)).astype(np.float32))
    a = anndata.AnnData(X=s, layers={"spliced": s, "unspliced": u})
    if layers:
        a.layers["X_spliced"] = s / 2.0
        a.layers["X_unspliced"] = u / 2.0
    if pca:
        # Three clusters in 10 dimensions.
        centres = rng.normal(0, 5, size=(3, 10))
        x = centres[rng.integers(0, 3, cells)] + rng.normal(0, 1, size=(cells, 10))
        if nan_cell is not None:
            x[nan_cell, 4] = np.nan
        a.obsm["X_pca"] = x
    a.var["use_for_pca"] = np.arange(50) % 2 == 0
    a.obs_names = [f"c{i}" for i in range(cells)]
    a.var_names = [f"Gene{j}" for j in range(50)]
    a.write_h5ad(f"{out}/{name}.h5ad")

write("good", 300)
write("too_few_cells", 20)
write("no_pca", 300, pca=False)
write("nan_in_pca", 300, nan_cell=250)
write("no_normalised_layers", 300, layers=False)
PY

check() {   # name stage how words np
  local name=$1 stage=$2 how=$3 words=$4 np=$5
  local out="$tmp/out_${name}_${stage}_$np"
  rm -rf "$out"; mkdir -p "$out"
  run_bad "$stage" "$how" "$tmp/$name.h5ad" "$out/result.h5ad" "$np" "spliced, unspliced"
  verdict $? "$name" "$words" "$out" "$name ($stage, $how, np=$np)"
}

for np in 1 3; do
  for how in stage run; do
    for stage in moments umap; do
      check too_few_cells "$stage" "$how" "n_neighbors: 30 neighbours (the cell itself included) need more than 30 cells, and this file has 20" "$np"
      check no_pca "$stage" "$how" "obsm/X_pca: not present (this file has obsm: none); run preprocess first" "$np"
      # Cell 250 is on the last rank: the others must not hang.
      check nan_in_pca "$stage" "$how" "obsm/X_pca: 1 NaN/Inf value(s) in the first 10 columns (first in cell 250)" "$np"
    done
    check no_normalised_layers moments "$how" "layers/X_spliced: not present (this file has layers: spliced, unspliced)" "$np"
  done
done

# The good file: moments then umap, at 2 ranks, exact and approximate neighbours.
for knn in exact approx; do
  if timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" moments "$tmp/good.h5ad" "$tmp/m_$knn.h5ad" -q \
       --knn "$knn" > "$tmp/stdout" 2> "$tmp/stderr" \
     && timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" umap "$tmp/m_$knn.h5ad" "$tmp/u_$knn.h5ad" -q \
       --n_epochs 50 > "$tmp/stdout" 2>> "$tmp/stderr" \
     && $PY - "$tmp/u_$knn.h5ad" "$knn" <<'PY'
import sys
import anndata
import numpy as np
a = anndata.read_h5ad(sys.argv[1])
assert a.layers["M_s"].shape == (300, 50)
# Selected genes only: every row stores the 25 even genes.
assert np.all(np.diff(a.layers["M_s"].indptr) == 25)
w = a.obsp["moments_con"]
assert np.allclose(np.asarray(w.sum(axis=1)).ravel(), 1, atol=1e-6)
assert a.obsm["X_umap"].shape == (300, 2) and np.isfinite(a.obsm["X_umap"]).all()
assert a.uns["neighbors"]["params"]["knn_method"] == sys.argv[2]
PY
  then
    passed=$((passed + 1)); echo "ok   good input: moments ($knn) and umap"
  else
    failed=$((failed + 1)); echo "FAIL good input ($knn)"; cat "$tmp/stderr"
  fi
done

echo "moments bad inputs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
