"""Checks that anndata reads the file velofield wrote and that every slot equals the original.

usage: /usr/bin/python3 check_against_anndata.py ORIGINAL.h5ad VELOFIELD_WRITTEN.h5ad
Dense obsp in the original is compared by value (velofield keeps cell × cell matrices sparse).
"""
import sys

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

orig = ad.read_h5ad(sys.argv[1])
ours = ad.read_h5ad(sys.argv[2])
failures = []


def same_matrix(key, x, y):
    xd = x.toarray() if sp.issparse(x) else np.asarray(x)
    yd = y.toarray() if sp.issparse(y) else np.asarray(y)
    if xd.shape != yd.shape:
        failures.append(f"{key}: shape {xd.shape} vs {yd.shape}")
    elif not np.array_equal(xd, yd, equal_nan=True):
        failures.append(f"{key}: values differ")
    elif xd.dtype != yd.dtype:
        failures.append(f"{key}: dtype {xd.dtype} vs {yd.dtype}")


def same_frame(key, x, y):
    if list(x.index) != list(y.index):
        failures.append(f"{key}: index differs")
    if list(x.columns) != list(y.columns):
        failures.append(f"{key}: columns {list(x.columns)} vs {list(y.columns)}")
        return
    for c in x.columns:
        a, b = x[c], y[c]
        if str(a.dtype) != str(b.dtype):
            failures.append(f"{key}/{c}: dtype {a.dtype} vs {b.dtype}")
        elif isinstance(a.dtype, pd.CategoricalDtype):
            if list(a.cat.categories) != list(b.cat.categories) or a.cat.ordered != b.cat.ordered \
                    or not np.array_equal(a.cat.codes, b.cat.codes):
                failures.append(f"{key}/{c}: categorical differs")
        elif not a.equals(b):
            failures.append(f"{key}/{c}: values differ")


def same_uns(key, x, y):
    if hasattr(x, "keys"):   # dict, or anndata's OverloadedDict for uns/neighbors
        if not hasattr(y, "keys") or set(x.keys()) != set(y.keys()):
            failures.append(f"{key}: keys {sorted(x.keys())} vs {sorted(y.keys()) if hasattr(y, 'keys') else type(y)}")
            return
        for k in x:
            same_uns(f"{key}/{k}", x[k], y[k])
    elif isinstance(x, np.ndarray):
        if not isinstance(y, np.ndarray) or x.shape != y.shape or not np.array_equal(x, y):
            failures.append(f"{key}: array differs")
    elif x != y or type(x) != type(y):
        failures.append(f"{key}: {x!r} ({type(x).__name__}) vs {y!r} ({type(y).__name__})")


if orig.shape != ours.shape:
    failures.append(f"shape {orig.shape} vs {ours.shape}")
same_frame("obs", orig.obs, ours.obs)
same_frame("var", orig.var, ours.var)
if (orig.X is None) != (ours.X is None):
    failures.append("X presence differs")
elif orig.X is not None:
    same_matrix("X", orig.X, ours.X)
for slot in ("layers", "obsm", "varm", "obsp", "varp"):
    a, b = getattr(orig, slot), getattr(ours, slot)
    if set(a.keys()) != set(b.keys()):
        failures.append(f"{slot}: keys {sorted(a.keys())} vs {sorted(b.keys())}")
        continue
    for k in a.keys():
        x, y = a[k], b[k]
        if slot == "obsp" and not sp.issparse(x):
            x = sp.csr_matrix(x)
        same_matrix(f"{slot}/{k}", x, y)
same_uns("uns", dict(orig.uns), dict(ours.uns))
if (orig.raw is None) != (ours.raw is None):
    failures.append("raw presence differs")
elif orig.raw is not None:
    same_matrix("raw/X", orig.raw.X, ours.raw.X)
    same_frame("raw/var", orig.raw.var, ours.raw.var)

if failures:
    print("\n".join(f"MISMATCH {f}" for f in failures))
    sys.exit(1)
print(f"anndata {ad.__version__} read {sys.argv[2]}: every slot equals {sys.argv[1]}")
