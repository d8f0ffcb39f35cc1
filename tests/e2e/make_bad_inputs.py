"""Makes one malformed input per error velofield must report, from a good anndata fixture.

usage: /usr/bin/python3 make_bad_inputs.py GOOD.h5ad OUTDIR
Prints one line per case: name|file|key the message must name|words the message must contain
"""
import os
import shutil
import sys

import h5py
import numpy as np

good, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
cases = []


def variant(name, key, words, edit):
    path = os.path.join(out, f"{name}.h5ad")
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    cases.append((name, path, key, words))


def set_value(dataset, index, value):
    def edit(f):
        d = f[dataset][...]
        d[index] = value
        f[dataset][...] = d
    return edit


nnz = None
with h5py.File(good, "r") as f:
    nnz = f["layers/spliced/data"].shape[0]
    n_vars = f["var"][f["var"].attrs["_index"]].shape[0]
    n_obs = f["obs"][f["obs"].attrs["_index"]].shape[0]

variant("indptr_not_monotone", "layers/spliced/indptr", "not monotone", set_value("layers/spliced/indptr", 5, 0))
variant("indptr_out_of_range", "layers/spliced/indptr", "outside [0, nnz", set_value("layers/spliced/indptr", 3, nnz + 100))
variant("index_too_large", "layers/spliced/indices", "outside [0, %d)" % n_vars, set_value("layers/spliced/indices", 2, n_vars + 3))
variant("shape_disagrees", "layers/spliced", "shape attribute says",
        lambda f: f["layers/spliced"].attrs.__setitem__("shape", np.array([n_obs, n_vars + 1])))
variant("nan_counts", "layers/spliced", "NaN/Inf", set_value("layers/spliced/data", 0, np.nan))
variant("inf_counts", "layers/unspliced", "NaN/Inf", set_value("layers/unspliced/data", 1, np.inf))
variant("negative_counts", "layers/spliced", "negative", set_value("layers/spliced/data", 4, -3.0))
variant("unsupported_encoding", "obsm/X_pca", "unsupported encoding 'awkward-array'",
        lambda f: f["obsm/X_pca"].attrs.__setitem__("encoding-type", "awkward-array"))
variant("missing_layer", "layers/unspliced", "layer not present", lambda f: f["layers"].__delitem__("unspliced"))

# Not HDF5 at all.
path = os.path.join(out, "not_hdf5.h5ad")
with open(path, "w") as fh:
    fh.write("cell,gene,count\nc1,g1,3\n")
cases.append(("not_hdf5", path, "", "not an HDF5 file"))
# HDF5, but not AnnData.
path = os.path.join(out, "not_anndata.h5ad")
with h5py.File(path, "w") as f:
    f.create_dataset("matrix", data=np.arange(10))
cases.append(("not_anndata", path, "/", "not an AnnData file"))
# Truncated transfer: the first 60% of a good file.
path = os.path.join(out, "truncated.h5ad")
with open(good, "rb") as src, open(path, "wb") as dst:
    data = src.read()
    dst.write(data[: int(len(data) * 0.6)])
cases.append(("truncated", path, "", "truncated"))
cases.append(("missing_file", os.path.join(out, "no_such_file.h5ad"), "", "file not found"))

for c in cases:
    print("|".join(c))
