"""The input of the figures in docs/plots.md: the pancreas file (obs clusters) with dynamo's own
results from ../shared/reference/dynamo (X_umap, velocity_umap, the Neurog3 knock-out's
velocity_umap_perturbation, the SparseVFC field of X_umap and its topography), and the field's
divergence at the cells (obs divergence_umap, analytic, as dyn.vf.divergence computes it).

    /usr/bin/python3 docs/figures/reference_input.py OUT.h5ad     (Debian's python3-anndata, h5py)
"""
import sys

import anndata
import h5py
import numpy as np

shared = "../shared" if len(sys.argv) < 3 else sys.argv[2]
ad = anndata.read_h5ad(f"{shared}/data/pancreas_supercell_3696x2000.h5ad")
ref = h5py.File(f"{shared}/reference/dynamo/pancreas_supercell_3696_dynamo.h5", "r")
x = ref["X_umap"][:]
ad.obsm["X_umap"] = x
ad.obsm["velocity_umap"] = ref["velocity_umap"][:]
ad.obsm["velocity_umap_perturbation"] = ref["velocity_umap_perturbation"][:]
ctrl, coef, beta = ref["VecFld_umap_X_ctrl"][:], ref["VecFld_umap_C"][:], float(ref.attrs["VecFld_umap_beta"])
vf = {"X_ctrl": ctrl, "C": coef, "beta": beta, "grid": ref["VecFld_umap_grid"][:], "grid_V": ref["VecFld_umap_grid_V"][:],
      "Xss": ref["topo_umap_Xss"][:], "ftype": ref["topo_umap_ftype"][:], "confidence": ref["topo_umap_confidence"][:],
      "xlim": ref["topo_umap_xlim"][:], "ylim": ref["topo_umap_ylim"][:]}
for which in ("NCx", "NCy"):
    vf[which] = {k.rsplit("_", 1)[1]: ref[k][:] for k in ref if k.startswith(f"topo_umap_{which}_")}
ad.uns["VecFld_umap"] = vf
# f(x) = sum_m C_m exp(-beta |x - c_m|^2): div f = sum_m -2 beta exp(...) (x - c_m) . C_m
diff = x[:, None, :] - ctrl[None, :, :]
k = np.exp(-beta * (diff ** 2).sum(-1))
ad.obs["divergence_umap"] = (-2 * beta * k * (diff * coef[None, :, :]).sum(-1)).sum(1)
ad.write_h5ad(sys.argv[1])
