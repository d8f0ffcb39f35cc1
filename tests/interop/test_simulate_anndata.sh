#!/usr/bin/env bash
# Simulated files in the Python ecosystem, and back: `velofield simulate` at 1, 2 and 3 ranks
# writes byte-identical files that Debian's anndata (0.8, /usr/bin/python3) opens with the documented
# slots and self-consistent values; an anndata-written velocity is scored by `velofield evaluate`.
# usage: bash test_simulate_anndata.sh PATH/TO/velofield   (env MPIEXEC: the mpiexec to use)
set -euo pipefail
VELOFIELD=${1:?usage: $0 PATH/TO/velofield}
MPIEXEC=${MPIEXEC:-mpiexec}
PY=/usr/bin/python3   # Debian's python3 with python3-anndata, not a pyenv python on PATH
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
if ! $PY -c "import anndata" 2>/dev/null; then
  echo "SKIP: $PY has no anndata (apt-get install python3-anndata)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { local n=$1; shift; "$MPIEXEC" --oversubscribe --bind-to none -n "$n" "$VELOFIELD" "$@" -q; }

# 1. Same seed, any rank count: the same bytes. A different seed: different bytes.
common=(--cells 2000 --genes 120 --lineages 3 --noise nb --density 0.2)
for n in 1 2 3; do run "$n" simulate "${common[@]}" --seed 5 --out "$work/sim_np$n.h5ad"; done
cmp "$work/sim_np1.h5ad" "$work/sim_np2.h5ad"
cmp "$work/sim_np1.h5ad" "$work/sim_np3.h5ad"
run 2 simulate "${common[@]}" --seed 6 --out "$work/sim_seed6.h5ad"
if cmp -s "$work/sim_np1.h5ad" "$work/sim_seed6.h5ad"; then echo "FAIL: seeds 5 and 6 gave the same file"; exit 1; fi
# A noise-free file, and one whose true velocity covers a gene subset (as for huge N).
run 2 simulate --cells 1500 --genes 80 --seed 3 --noise-free --out "$work/clean.h5ad"
run 3 simulate --cells 1500 --genes 80 --seed 3 --truth-max-entries 30000 --out "$work/subset.h5ad"
"$VELOFIELD" info "$work/sim_np1.h5ad" > "$work/info.txt"

# 2. anndata reads them, with the documented slots and values that agree with each other.
$PY - "$work" <<'PY'
import re, sys
import anndata, numpy as np, scipy.sparse as sp
work = sys.argv[1]
a = anndata.read_h5ad(f"{work}/sim_np1.h5ad")
assert a.shape == (2000, 120), a.shape
for k in ["true_time", "clusters", "lineage", "true_library_size"]:
    assert k in a.obs, k
for k in ["true_alpha_on", "true_beta", "true_gamma", "true_switch_time", "true_onset_time", "true_program"]:
    assert k in a.var, k
assert a.obs["true_time"].dtype == np.float64
assert list(a.obs["clusters"].cat.categories) == ["root", "progenitor", "fate_1", "fate_2", "fate_3"]
assert list(a.obs["lineage"].cat.categories) == ["trunk", "lineage_1", "lineage_2", "lineage_3"]
for k in ["spliced", "unspliced"]:
    m = a.layers[k]
    assert sp.isspmatrix_csr(m) and m.dtype == np.float32, (k, type(m), m.dtype)
    assert np.all(m.data == np.round(m.data)) and m.data.min() > 0, k   # counts, explicit nonzeros only
assert sp.isspmatrix_csr(a.X) and (a.X != a.layers["spliced"]).nnz == 0
v = a.layers["true_velocity_S"]
assert isinstance(v, np.ndarray) and v.dtype == np.float32 and v.shape == (2000, 120)
assert a.obsm["X_true_2d"].shape == (2000, 2) and a.obsm["true_velocity_true_2d"].shape == (2000, 2)
u = a.uns["simulation"]
assert int(u["n_cells"]) == 2000 and int(u["n_genes"]) == 120 and int(u["seed"]) == 5 and u["noise"] == "nb"
assert u["transitions"] == "root>progenitor,progenitor>fate_1,progenitor>fate_2,progenitor>fate_3"
assert abs(float(u["spliced_density"]) - a.layers["spliced"].nnz / (2000 * 120)) < 1e-12
# The nonzero counts velofield info reports are the ones anndata sees.
info = open(f"{work}/info.txt").read()
for k in ["spliced", "unspliced"]:
    nnz = int(re.search(rf"layers/{k}\s+csr\s+float32.*nnz (\d+)", info).group(1))
    assert nnz == a.layers[k].nnz, (k, nnz, a.layers[k].nnz)
# Cells sit where their time says: the trunk before the branch point, a fate after it.
t, c = a.obs["true_time"].to_numpy(), a.obs["clusters"].astype(str).to_numpy()
tb = float(u["branch_point_time"])
assert np.all(t[np.isin(c, ["root", "progenitor"])] <= tb) and np.all(t[~np.isin(c, ["root", "progenitor"])] >= tb)

# Noise-free: the stored truth is beta*u - gamma*s of the stored abundances, recomputed here.
b = anndata.read_h5ad(f"{work}/clean.h5ad")
uu, ss = b.layers["unspliced"].toarray().astype(np.float64), b.layers["spliced"].toarray().astype(np.float64)
expected = b.var["true_beta"].to_numpy() * uu - b.var["true_gamma"].to_numpy() * ss
got = b.layers["true_velocity_S"].astype(np.float64)
rel = np.linalg.norm(got - expected) / np.linalg.norm(expected)
assert rel < 1e-5, rel
assert np.all(b.obs["true_library_size"] == 1.0) and b.uns["simulation"]["noise"] == "none"

# Gene subset: a CSR truth storing exactly the listed genes in every row.
s = anndata.read_h5ad(f"{work}/subset.h5ad")
genes = np.asarray(s.uns["simulation"]["true_velocity_genes"])
tv = s.layers["true_velocity_S"]
assert sp.isspmatrix_csr(tv) and len(genes) == 30000 // 1500 and s.uns["simulation"]["true_velocity_layout"] == "csr_gene_subset"
assert np.all(np.diff(tv.indptr) == len(genes)) and np.all(tv.indices.reshape(-1, len(genes)) == genes)

# 3. Velocities written by anndata for velofield evaluate: the truth, its negation, noise.
b.layers["velocity_S"] = b.layers["true_velocity_S"]
b.write_h5ad(f"{work}/truth_as_velocity.h5ad")
b.layers["velocity_S"] = -b.layers["true_velocity_S"]
b.write_h5ad(f"{work}/flipped.h5ad")
rng = np.random.default_rng(0)
b.layers["velocity_S"] = rng.standard_normal(b.shape).astype(np.float32)
b.layers["velocity_S"][:, :4] = np.nan   # dynamo's unfitted genes: ignored
b.write_h5ad(f"{work}/random.h5ad")
print("anndata checks passed")
PY

run 1 evaluate "$work/truth_as_velocity.h5ad" --out "$work/truth_np1.json"
run 3 evaluate "$work/truth_as_velocity.h5ad" --out "$work/truth_np3.json"
run 2 evaluate "$work/flipped.h5ad" --out "$work/flipped.json"
run 2 evaluate "$work/random.h5ad" --out "$work/random.json"
run 2 evaluate "$work/clean.h5ad" --velocity true_velocity_S --basis true_2d --embedding-velocity true_velocity_true_2d \
  --out "$work/tree.json"
# The report does not depend on the rank count (exact sums, exact median).
cmp "$work/truth_np1.json" "$work/truth_np3.json"
$PY - "$work" <<'PY'
import json, sys
work = sys.argv[1]
load = lambda n: json.load(open(f"{work}/{n}.json"))
t, f, r, tree = load("truth_np1"), load("flipped"), load("random"), load("tree")
assert abs(t["cosine_genes"]["mean"] - 1) < 1e-6 and abs(t["cosine_genes"]["median"] - 1) < 1e-6, t["cosine_genes"]
assert abs(f["cosine_genes"]["mean"] + 1) < 1e-6 and f["cosine_genes"]["fraction_positive"] == 0, f["cosine_genes"]
assert abs(r["cosine_genes"]["mean"]) < 0.05 and r["cosine_genes"]["nonfinite_columns_ignored"] == 4, r["cosine_genes"]
assert tree["cbdir"]["mean"] > 0.3 and tree["iccoh"]["mean"] > 0.5, (tree["cbdir"], tree["iccoh"])
assert tree["transitions_from"] == "uns/simulation/transitions"
print("evaluate checks passed")
PY
echo "PASS"
