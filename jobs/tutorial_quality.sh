#!/usr/bin/env bash
# End-to-end quality of the tutorial job on the pancreas data (issue 9): CBDir (VeloAE's cross-
# boundary direction correctness) of velofield's velocity_umap and of dynamo's own
# (../shared/reference/dynamo), scored the same way: the known transitions of endocrinogenesis,
# each cell's 30 exact nearest neighbours in its own X_umap, `velofield evaluate`.
#   usage: bash jobs/tutorial_quality.sh [VELOFIELD] [PIPELINE_OUTPUT.h5ad]
#   (the output of scripts/run_main.sh by default: out/pancreas_velofield.h5ad)
set -euo pipefail
VF=${1:-build/src/velofield}
OUT=${2:-out/pancreas_velofield.h5ad}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${VELOFIELD_SHARED_DIR:-$HERE/../../shared}/reference/dynamo/pancreas_supercell_3696_dynamo.h5
TRANSITIONS='Ngn3 low EP>Ngn3 high EP>Pre-endocrine>{Alpha,Beta,Delta,Epsilon}'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Both scored from the same minimal file layout: clusters, X_umap, velocity_umap (no graph, so the
# neighbours are the exact kNN in each file's own embedding).
/usr/bin/python3 - "$OUT" "$REF" "$work" <<'PY'
import sys, anndata, h5py, numpy as np, pandas as pd
ours = anndata.read_h5ad(sys.argv[1])
def minimal(umap, vel, path):
    a = anndata.AnnData(X=np.zeros((ours.n_obs, 1), np.float32), obs=pd.DataFrame({"clusters": ours.obs["clusters"].values}, index=ours.obs_names))
    a.obsm["X_umap"] = np.asarray(umap, np.float64)
    a.obsm["velocity_umap"] = np.asarray(vel, np.float64)
    a.layers["velocity_S"] = np.zeros((ours.n_obs, 1), np.float32)   # ICCoh is not compared here
    a.write_h5ad(path)
minimal(ours.obsm["X_umap"], ours.obsm["velocity_umap"], sys.argv[3] + "/velofield.h5ad")
with h5py.File(sys.argv[2], "r") as f:
    minimal(f["X_umap"][()], f["velocity_umap"][()], sys.argv[3] + "/dynamo.h5ad")
PY
for who in velofield dynamo; do
  "$VF" evaluate "$work/$who.h5ad" --basis umap --transitions "$TRANSITIONS" --out "$work/$who.json" -q
done
/usr/bin/python3 - "$work" <<'PY'
import json, sys
v, d = (json.load(open(f"{sys.argv[1]}/{w}.json"))["cbdir"] for w in ("velofield", "dynamo"))
print(f"{'CBDir (pancreas, kNN(30) in X_umap)':<40} {'velofield':>10} {'dynamo':>10}")
for g in v["groups"]:
    print(f"{g:<40} {v['groups'][g]['score']:10.4f} {d['groups'][g]['score']:10.4f}")
print(f"{'mean':<40} {v['mean']:10.4f} {d['mean']:10.4f}")
PY
