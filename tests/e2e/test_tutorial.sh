#!/usr/bin/env bash
# dynamo's tutorial as one job (issue 9): `velofield run --config inputs/pancreas.ini` at 2 ranks on
# the pancreas data (inputs/demo.ini on a simulated tree where ../shared is absent). Checked with
# Debian's python3-anndata: the file opens, and every slot the tutorial names is there with the
# right shape and finite values where they must be; the figures the config names are PNGs of the
# configured size with the cluster colours in them.
#   usage: test_tutorial.sh PATH/TO/velofield
set -uo pipefail
VF=$(readlink -f "${1:?usage: $0 PATH/TO/velofield}")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
if ! $PY -c "import anndata" 2>/dev/null; then echo "SKIP: $PY has no anndata (apt-get install python3-anndata)"; exit 0; fi
SHARED=${VELOFIELD_SHARED_DIR:-$ROOT/../shared}
CONFIG=$ROOT/inputs/pancreas.ini
if [ ! -f "$SHARED/data/pancreas_supercell_3696x2000.h5ad" ]; then
  echo "SKIP (pancreas part): no $SHARED/data/pancreas_supercell_3696x2000.h5ad — running inputs/demo.ini instead"
  CONFIG=$ROOT/inputs/demo.ini
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${MPIEXEC:-mpirun} --quiet --oversubscribe --bind-to none -n 2 "$VF" run --config "$CONFIG" \
  --run.input "$([ "$CONFIG" = "$ROOT/inputs/pancreas.ini" ] && echo "$SHARED/data/pancreas_supercell_3696x2000.h5ad" || echo "$tmp/none.h5ad")" \
  --run.output "$tmp/tutorial.h5ad" --timings "$tmp/timings.json" > "$tmp/run.log" 2>&1 </dev/null ||
  { tail -30 "$tmp/run.log"; echo "FAIL: the tutorial job failed"; exit 1; }
$PY - "$tmp" "$CONFIG" <<'PY'
import configparser, json, struct, sys, zlib
import anndata, numpy as np
tmp, config = sys.argv[1], sys.argv[2]
a = anndata.read_h5ad(f"{tmp}/tutorial.h5ad")
n = a.n_obs
print(a)
fails = []
def need(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: fails.append(what)
need("velocity_S" in a.layers, "layer velocity_S")
for v in ("use_for_dynamics", "use_for_transition", "use_for_pca"):
    need(v in a.var and a.var[v].dtype == bool and a.var[v].sum() > 0, f"var {v} (bool, some genes)")
need("dynamics" in a.uns and "filter_gene_mode" in a.uns["dynamics"], "uns['dynamics'] with dynamo's keys")
for basis, d in (("umap", 2), ("pca", 30)):
    key = f"velocity_{basis}"
    need(key in a.obsm and a.obsm[key].shape == (n, d), f"obsm {key} ({n} × {d})")
    vf = a.uns.get(f"VecFld_{basis}", {})
    need(all(k in vf for k in ("X_ctrl", "C", "beta", "sigma2", "iteration")), f"uns VecFld_{basis} (X_ctrl, C, beta, sigma2, iteration)")
    for o in ("control_point", "inlier_prob", "obs_vf_angle", "divergence", "acceleration", "curvature"):
        need(f"{o}_{basis}" in a.obs, f"obs {o}_{basis}")
    for m in (f"X_{basis}_SparseVFC", f"velocity_{basis}_SparseVFC"):
        need(m in a.obsm and a.obsm[m].shape == (n, d), f"obsm {m}")
    need(np.isfinite(a.obsm[f"velocity_{basis}_SparseVFC"]).all(), f"obsm velocity_{basis}_SparseVFC finite")
need("curl_umap" in a.obs, "obs curl_umap")
need("pearson_transition_matrix" in a.obsp, "obsp pearson_transition_matrix")
need("grid_velocity_umap" in a.uns, "uns grid_velocity_umap")
topo = a.uns.get("VecFld_umap", {})
need(all(k in topo for k in ("Xss", "ftype", "confidence", "NCx", "NCy", "separatrices")), "uns VecFld_umap topography (Xss, ftype, confidence, NCx, NCy, separatrices)")
need(len(topo.get("Xss", [])) >= 3 and set(np.unique(topo.get("ftype", []))) >= {-1, 0}, "topography: stable nodes and saddles found")
need("j_delta_x_perturbation" in a.layers, "layer j_delta_x_perturbation")
need("j_delta_x_perturbation" in a.obsm and a.obsm["j_delta_x_perturbation"].shape == (n, 30), "obsm j_delta_x_perturbation (PCA)")
need("jacobian_det_pca" in a.obs, "obs jacobian_det_pca")
need("velocity_umap_perturbation" in a.obsm and np.isfinite(a.obsm["velocity_umap_perturbation"]).all(), "obsm velocity_umap_perturbation (finite)")
need("grid_velocity_umap_perturbation" in a.uns, "uns grid_velocity_umap_perturbation")
need("velofield" in a.uns and bool(a.uns["velofield"]["complete"]), "uns velofield run record, complete")

# Figures: each [plot:NAME] of the config, beside the output.
cp = configparser.ConfigParser(interpolation=None)
cp.read(config)
stages = [s.strip() for s in cp["run"]["stages"].split(",")]
colors = {}
for s in cp.sections():
    if s.startswith("plot:") and s in stages and "color_key" in cp[s]:
        colors = dict(kv.strip().split("=") for kv in cp[s]["color_key"].split(","))
plots = [s for s in stages if s.startswith("plot:")]
need(len(plots) >= 2, f"the config draws figures ({plots})")
for s in plots:
    path = f"{tmp}/{cp[s]['figure']}"
    try:
        raw = open(path, "rb").read()
    except OSError:
        need(False, f"figure {path}"); continue
    need(raw[:8] == b"\x89PNG\r\n\x1a\n", f"{s}: a PNG")
    w, h = struct.unpack(">II", raw[16:24])
    dpi = float(cp[s].get("dpi", 150))
    need((w, h) == (round(float(cp[s].get("width", 6.4)) * dpi), round(float(cp[s].get("height", 5)) * dpi)), f"{s}: {w} × {h} pixels")
    if s in ("plot:velocity",) and colors:
        # decode the PNG (8-bit RGB/RGBA, non-interlaced, as cairo writes it) and look for each colour
        pos, idat = 8, b""
        while pos < len(raw):
            ln, typ = struct.unpack(">I4s", raw[pos:pos + 8]); data = raw[pos + 8:pos + 8 + ln]; pos += 12 + ln
            if typ == b"IHDR": depth, ctype = data[8], data[9]
            if typ == b"IDAT": idat += data
        bpp = 4 if ctype == 6 else 3
        img = zlib.decompress(idat); stride = w * bpp; prev = bytearray(stride); pix = set()
        for y in range(h):
            f = img[y * (stride + 1)]; line = bytearray(img[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0; up = prev[i]; ul = prev[i - bpp] if i >= bpp else 0
                if f == 1: line[i] = (line[i] + left) & 255
                elif f == 2: line[i] = (line[i] + up) & 255
                elif f == 3: line[i] = (line[i] + (left + up) // 2) & 255
                elif f == 4:
                    p = left + up - ul; pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
            prev = line
            pix.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
        for name, hexcol in colors.items():
            rgb = bytes.fromhex(hexcol.strip().lstrip("#"))
            need(rgb in pix, f"{s}: cluster {name.strip()} drawn in {hexcol.strip()}")
t = json.load(open(f"{tmp}/timings.json"))
print("stages timed:", ", ".join(s["stage"] for s in t["stages"]))
sys.exit(1 if fails else 0)
PY
rc=$?
[ $rc -eq 0 ] && echo "PASS: the tutorial job's file has every slot and its figures" || echo "FAIL: see above"
exit $rc
