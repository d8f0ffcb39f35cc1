"""Inputs of jobs/bench_topography.sh and jobs/bench_perturbation.sh.

pancreas: the pancreas h5ad with dynamo's own inputs of dyn.vf.topography and dyn.pd.perturbation
(../shared/reference/dynamo): obsm X_pca, X_umap; uns PCs, pca_mean, VecFld_pca and VecFld_umap
(X_ctrl, C, beta); var use_for_pca; obsp distances = the exact 30-NN in X_pca (self excluded).
synthetic N: N cells on a branching curve in 30-D with a random SparseVFC field (M = 500), PCs of
200 genes, X_umap = two coordinates, obsp distances = the 30-NN along the curve parameter (a band
graph, cheap to build at 1M cells; the kernel's cost depends on the neighbourhood size only).
usage: python3 make_topography_inputs.py pancreas SHARED OUT | synthetic N OUT
"""
import shutil
import sys

import h5py
import numpy as np


def array(group, name, data):
    d = group.create_dataset(name, data=data)
    d.attrs["encoding-type"], d.attrs["encoding-version"] = "array", "0.2.0"


def dict_group(group, name):
    g = group.require_group(name)
    g.attrs["encoding-type"], g.attrs["encoding-version"] = "dict", "0.1.0"
    return g


def csr(group, name, indptr, indices, data, shape):
    g = group.create_group(name)
    g.attrs["encoding-type"], g.attrs["encoding-version"] = "csr_matrix", "0.1.0"
    g.attrs["shape"] = np.array(shape, dtype=np.int64)
    g.create_dataset("indptr", data=indptr)
    g.create_dataset("indices", data=indices)
    g.create_dataset("data", data=data)


def knn_csr(x, k):
    n = x.shape[0]
    rows, vals = [], []
    for b in range(0, n, 512):
        blk = x[b:b + 512]
        d2 = (blk ** 2).sum(1)[:, None] + (x ** 2).sum(1)[None, :] - 2 * blk @ x.T
        for r in range(blk.shape[0]):
            d2[r, b + r] = np.inf
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k - 1]
        for r in range(blk.shape[0]):
            o = idx[r][np.argsort(d2[r, idx[r]], kind="stable")]
            rows.append(np.sort(o))
            vals.append(np.sqrt(np.maximum(d2[r, np.sort(o)], 0)))
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return indptr, np.concatenate(rows).astype(np.int32), np.concatenate(vals).astype(np.float32)


def write_common(f, x_pca, x_umap, pcs, mean, use, fields):
    obsm = f.require_group("obsm")
    array(obsm, "X_pca", x_pca)
    array(obsm, "X_umap", x_umap)
    uns = dict_group(f, "uns")
    array(uns, "PCs", pcs)
    array(uns, "pca_mean", mean)
    for basis, (ctrl, coef, beta) in fields.items():
        g = dict_group(uns, f"VecFld_{basis}")
        array(g, "X_ctrl", ctrl)
        array(g, "C", coef)
        g.create_dataset("beta", data=np.float64(beta))
    var = f["var"]
    if "use_for_pca" in var:
        del var["use_for_pca"]
    var.create_dataset("use_for_pca", data=use)
    order = list(var.attrs.get("column-order", []))
    if "use_for_pca" not in order:
        var.attrs["column-order"] = np.array(order + ["use_for_pca"], dtype=h5py.string_dtype())


def pancreas(shared, out):
    shutil.copy(f"{shared}/data/pancreas_supercell_3696x2000.h5ad", out)
    with h5py.File(f"{shared}/reference/dynamo/pancreas_supercell_3696_dynamo.h5", "r") as ref, h5py.File(out, "r+") as f:
        x_pca = ref["X_pca"][...]
        fields = {b: (ref[f"VecFld_{b}_X_ctrl"][...], ref[f"VecFld_{b}_C"][...], ref.attrs[f"VecFld_{b}_beta"]) for b in ("pca", "umap")}
        write_common(f, x_pca, ref["X_umap"][...], ref["PCs"][...], ref["pca_mean"][...], ref["var_use_for_pca"][...], fields)
        indptr, indices, data = knn_csr(x_pca.astype(np.float64), 30)
        csr(f.require_group("obsp"), "distances", indptr, indices, data, (x_pca.shape[0], x_pca.shape[0]))


def synthetic(n, out):
    rng = np.random.default_rng(8)
    D, G, M, k = 30, 200, 500, 30
    t = np.sort(rng.random(n))
    basis = np.stack([t, np.sin(np.pi * t), np.cos(np.pi * t), t * t], 1)
    x = basis @ rng.normal(size=(4, D)) * 5 + 0.05 * rng.normal(size=(n, D))
    ctrl = x[rng.choice(n, M, replace=False)]
    coef = rng.normal(size=(M, D)) * 0.1
    pcs = np.linalg.qr(rng.normal(size=(G, D)))[0]
    with h5py.File(out, "w") as f:
        f.attrs["encoding-type"], f.attrs["encoding-version"] = "anndata", "0.1.0"
        for name, count in (("obs", n), ("var", G)):
            g = f.create_group(name)
            g.attrs["encoding-type"], g.attrs["encoding-version"] = "dataframe", "0.2.0"
            g.attrs["_index"] = "_index"
            g.attrs["column-order"] = np.array([], dtype=h5py.string_dtype())
            prefix = "cell_" if name == "obs" else "gene_"
            g.create_dataset("_index", data=np.array([f"{prefix}{i}" for i in range(count)], dtype=object), dtype=h5py.string_dtype())
        write_common(f, x, x[:, :2].copy(), pcs, rng.random(G), np.ones(G, dtype=bool),
                     {"pca": (ctrl, coef, 1.125 / 25.0)})
        # Band graph: the k − 1 cells nearest in the curve parameter (t sorted).
        idx = np.arange(n)[:, None] + np.arange(-(k // 2), k // 2 + 1)[None, :]
        idx = np.clip(idx, 0, n - 1)
        idx = np.where(idx == np.arange(n)[:, None], -1, idx)
        rows = [np.unique(r[r >= 0])[: k - 1] for r in idx]
        indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
        indices = np.concatenate(rows).astype(np.int32)
        owner = np.repeat(np.arange(n), np.diff(indptr))
        data = np.abs(t[indices] - t[owner]).astype(np.float32) + 1e-6
        csr(f.require_group("obsp"), "distances", indptr, indices, data, (n, n))


if __name__ == "__main__":
    if sys.argv[1] == "pancreas":
        pancreas(sys.argv[2], sys.argv[3])
    else:
        synthetic(int(sys.argv[2]), sys.argv[3])
