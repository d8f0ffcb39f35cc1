"""Writes, with anndata itself, an .h5ad holding every kind of slot velofield must read:
categorical obs (with a missing value, ordered and unordered, numeric categories), nullable
integer/boolean, bool and string columns, nested uns dicts with scalars, strings and arrays,
obsm, varm, obsp, sparse (CSR and CSC) and dense layers, and int64/uint indices.

usage: /usr/bin/python3 anndata_fixture.py OUT.h5ad
"""
import sys

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

rng = np.random.default_rng(7)
n_obs, n_vars = 53, 17
counts = sp.random(n_obs, n_vars, density=0.3, format="csr", random_state=1, dtype=np.float32)
counts.data = np.round(counts.data * 20).astype(np.float32) + 1
unspliced = sp.random(n_obs, n_vars, density=0.2, format="csc", random_state=2, dtype=np.float64)
unspliced.data = np.round(unspliced.data * 10) + 1

clusters = pd.Categorical(
    rng.choice(["Ductal", "Ngn3 low EP", "Ngn3 high EP", "Pre-endocrine", "Beta"], n_obs),
    categories=["Ductal", "Ngn3 low EP", "Ngn3 high EP", "Pre-endocrine", "Beta"])
clusters[3] = np.nan
obs = pd.DataFrame(
    {
        "clusters": clusters,
        "stage": pd.Categorical(rng.choice(["early", "late"], n_obs), categories=["early", "late"], ordered=True),
        "batch_id": pd.Categorical(rng.choice([3, 11, 42], n_obs)),
        "n_counts": np.asarray(counts.sum(1)).ravel().astype(np.float64),
        "n_genes": np.asarray((counts > 0).sum(1)).ravel().astype(np.int64),
        "is_doublet": rng.random(n_obs) < 0.1,
        "note": [f"cell note {i} ✓" for i in range(n_obs)],
        "maybe_int": pd.array([None if i % 5 == 0 else i for i in range(n_obs)], dtype="Int32"),
        "maybe_bool": pd.array([None if i % 7 == 0 else bool(i % 2) for i in range(n_obs)], dtype="boolean"),
    },
    index=[f"AAAC-{i}" for i in range(n_obs)],
)
var = pd.DataFrame(
    {"gene_short_name": [f"Gene{j}" for j in range(n_vars)], "use_for_pca": rng.random(n_vars) < 0.5,
     "dispersion": rng.random(n_vars)},
    index=[f"ENSMUSG{j:05d}" for j in range(n_vars)],
)
a = ad.AnnData(X=counts.copy(), obs=obs, var=var)
a.layers["spliced"] = counts.copy()
a.layers["unspliced"] = unspliced
a.layers["M_s"] = rng.random((n_obs, n_vars)).astype(np.float32)
a.obsm["X_pca"] = rng.standard_normal((n_obs, 5))
a.obsm["X_umap"] = rng.standard_normal((n_obs, 2)).astype(np.float32)
a.varm["PCs"] = rng.standard_normal((n_vars, 5))
conn = sp.random(n_obs, n_obs, density=0.1, format="csr", random_state=3)
a.obsp["connectivities"] = conn
a.obsp["distances"] = sp.csr_matrix(conn.multiply(2.5))
a.uns["pp"] = {"recipe": "monocle", "n_top_genes": 2000, "norm": {"relative_expr": True, "pseudo": 1.0}}
a.uns["clusters_colors"] = np.array(["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"], dtype=object)
a.uns["VecFld_umap"] = {"beta": 0.1, "X_ctrl": rng.standard_normal((4, 2)), "iteration": np.int64(30)}
a.write_h5ad(sys.argv[1])
