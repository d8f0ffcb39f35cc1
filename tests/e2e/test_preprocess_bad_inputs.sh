#!/usr/bin/env bash
# Inputs the monocle recipe cannot use (issue 4): each gives one error line naming the file and the
# problem, a non-zero exit, no output file and no hung rank, at 1 and 3 ranks, through both
# `velofield preprocess IN OUT` and `velofield run` with [run] stages = preprocess.
#   usage: test_preprocess_bad_inputs.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
. "$(dirname "$0")/lib.sh"

# Small AnnData files, one per problem, from random Poisson counts (300 cells).
$PY - "$tmp" <<'PY' || { echo "cannot make the inputs"; exit 1; }
import sys
import anndata
import numpy as np
import scipy.sparse as sp

out = sys.argv[1]
rng = np.random.default_rng(0)

def counts(cells, genes, rate):
    return sp.csr_matrix(rng.poisson(rate, size=(cells, genes)).astype(np.float32))

def write(name, X, layers):
    a = anndata.AnnData(X=X, layers=layers)
    a.obs_names = [f"c{i}" for i in range(X.shape[0])]
    a.var_names = [f"Gene{j}" for j in range(X.shape[1])]
    a.write_h5ad(f"{out}/{name}.h5ad")

s, u = counts(300, 400, 1.0), counts(300, 400, 0.5)
write("good", s, {"spliced": s, "unspliced": u})
write("no_velocity_layers", s, {})
# Three expressed genes per cell: every cell is below the min(50, 0.01 G) = 4 genes of the filter.
sparse = sp.lil_matrix((300, 400), dtype=np.float32)
for i in range(300):
    sparse[i, rng.choice(400, 3, replace=False)] = 2.0
sparse = sparse.tocsr()
write("all_cells_filtered", sparse, {"spliced": sparse, "unspliced": sparse})
# 20 genes cannot give 30 principal components.
s20, u20 = counts(300, 20, 3.0), counts(300, 20, 2.0)
write("too_few_genes", s20, {"spliced": s20, "unspliced": u20})
# Normalised values where counts belong.
norm = s.copy()
norm.data = norm.data / 3.0
write("non_integer_counts", s, {"spliced": norm, "unspliced": u})
PY

check() {   # name how words np
  local name=$1 how=$2 words=$3 np=$4
  local out="$tmp/out_${name}_$np"
  rm -rf "$out"; mkdir -p "$out"
  run_bad preprocess "$how" "$tmp/$name.h5ad" "$out/result.h5ad" "$np" "X"
  verdict $? "$name" "$words" "$out" "$name ($how, np=$np)"
}

for np in 1 3; do
  for how in stage run; do
    check no_velocity_layers "$how" "layers/spliced: layer not present" "$np"
    check all_cells_filtered "$how" "cells fail the basic cell filter" "$np"
    check too_few_genes "$how" "n_pca_components = 30 needs at least 31" "$np"
    check non_integer_counts "$how" "non-integer value(s)" "$np"
  done
done

# The good file goes through, and the same options that make the bad ones fail are accepted.
if timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" preprocess "$tmp/good.h5ad" "$tmp/good_out.h5ad" -q \
     --n_pca_components 10 > "$tmp/stdout" 2> "$tmp/stderr" && [ -f "$tmp/good_out.h5ad" ]; then
  passed=$((passed + 1)); echo "ok   good input is preprocessed"
else
  failed=$((failed + 1)); echo "FAIL good input"; cat "$tmp/stderr"
fi
# Non-integer counts are accepted when asked for.
if timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 2 "$VF" preprocess "$tmp/non_integer_counts.h5ad" \
     "$tmp/ni_out.h5ad" -q --allow_non_integer_counts true --n_pca_components 10 > "$tmp/stdout" 2> "$tmp/stderr" && [ -f "$tmp/ni_out.h5ad" ]; then
  passed=$((passed + 1)); echo "ok   allow_non_integer_counts = true accepts them"
else
  failed=$((failed + 1)); echo "FAIL allow_non_integer_counts"; cat "$tmp/stderr"
fi

echo "preprocess bad inputs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
