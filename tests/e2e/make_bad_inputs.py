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


def rename(frame, index, to_index):
    def edit(f):
        key = f"{frame}/" + f[frame].attrs["_index"]
        names = f[key][...]
        names[index] = names[to_index]
        f[key][...] = names
    return edit


# Cell 40 (on the last rank at 3 ranks) repeats cell 2 (on the first).
variant("duplicate_cell_names", "obs/_index", "cell name 'AAAC-2' occurs more than once (cells 2 and 40", rename("obs", 40, 2))
variant("duplicate_gene_names", "var/_index", "gene name 'ENSMUSG00003' occurs more than once (genes 3 and 9",
        rename("var", 9, 3))


def widened(dataset, dtype, index, value):
    """Stores `dataset` as `dtype` (as a 64-bit writer would) with one entry set to `value`."""
    def edit(f):
        d = f[dataset][...].astype(dtype)
        d[index] = value
        del f[dataset]
        f.create_dataset(dataset, data=d)
    return edit


# 64-bit indices beyond what the matrix can hold: a column index past 2^32 in an int64 indices
# array, and an indptr entry past 2^63 in a uint64 one (both from a broken converter).
variant("indices_beyond_int32", "layers/spliced/indices", "outside [0, %d)" % n_vars,
        widened("layers/spliced/indices", np.int64, 2, 2**33 + 1))
variant("indptr_beyond_int64", "layers/spliced/indptr", "outside [0, nnz = %d]" % nnz,
        widened("layers/spliced/indptr", np.uint64, 3, 2**63 + 7))

# No cells, and no genes: valid AnnData files with nothing to compute on.
def empty(name, n_cells, n_genes, key, words):
    import warnings
    import anndata
    warnings.simplefilter("ignore")
    import scipy.sparse as sp
    m = sp.csr_matrix((n_cells, n_genes), dtype=np.float32)
    a = anndata.AnnData(X=m, layers={"spliced": m, "unspliced": m})
    a.obs_names = [f"c{i}" for i in range(n_cells)]
    a.var_names = [f"g{j}" for j in range(n_genes)]
    path = os.path.join(out, f"{name}.h5ad")
    a.write_h5ad(path)
    cases.append((name, path, key, words))


empty("no_cells", 0, 5, "obs", "the file has no cells")
empty("no_genes", 6, 0, "var", "the file has no genes")

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
