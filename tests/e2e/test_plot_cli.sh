#!/usr/bin/env bash
# The plot subcommands as a user runs them, on a small synthetic dataset (no ../shared needed): three
# clusters along a curve with their colours in uns clusters_colors (scanpy's), a numeric obs, the
# embedding velocity, a perturbation velocity and a topography. Checked: PNG size in pixels, the uns
# colours in the picture, the same bytes at 1 and 3 ranks, SVG parsed as XML with one path per cell,
# PDF header and trailer, every option in --help, and bad input → one error line, non-zero exit,
# no output file, at 1 and 3 ranks.
#   usage: test_plot_cli.sh PATH/TO/velofield
set -uo pipefail
VF=${1:?usage: $0 PATH/TO/velofield}
MPI=${MPIEXEC:-mpirun}
PY=/usr/bin/python3   # Debian's python3 (python3-anndata), not a pyenv python on PATH
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
if ! $PY -c "import anndata" 2>/dev/null; then
  echo "SKIP: $PY has no anndata (apt-get install python3-anndata)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$PY - "$tmp" <<'PY' || { echo "FAIL: cannot make the inputs"; exit 1; }
import sys
import anndata
import numpy as np
import pandas as pd

out = sys.argv[1]
rng = np.random.default_rng(1)
n = 600
t = np.sort(rng.uniform(0, 1, n))
umap = np.stack([4 * np.cos(3 * t), 3 * np.sin(3 * t)], 1) + 0.15 * rng.standard_normal((n, 2))
velocity = np.stack([-12 * np.sin(3 * t), 9 * np.cos(3 * t)], 1)
a = anndata.AnnData(X=np.zeros((n, 3), np.float32))
a.obs_names = [f"c{i}" for i in range(n)]
a.obs["clusters"] = pd.Categorical(np.where(t < 0.3, "early", np.where(t < 0.7, "middle", "late")), categories=["early", "middle", "late"])
a.obs["latent_time"] = t
a.obs["label"] = [f"x{i}" for i in range(n)]
a.uns["clusters_colors"] = np.array(["#e41a1c", "#377eb8", "#4daf4a"], dtype=object)
a.obsm["X_umap"] = umap
a.obsm["velocity_umap"] = velocity
a.obsm["velocity_umap_perturbation"] = -velocity
a.uns["VecFld_umap"] = {
    "Xss": np.array([[4.0, 0.0], [0.0, 3.0], [-4.0, 0.5]]), "ftype": np.array([-1, 0, 1]),
    "NCx": {"0": np.array([[-5.0, 0.0], [5.0, 0.0]])}, "NCy": {"0": np.array([[0.0, -4.0], [0.0, 4.0]])},
    "xlim": np.array([-5.0, 5.0]), "ylim": np.array([-4.0, 4.0]),
}
a.write_h5ad(f"{out}/good.h5ad")
del a.uns["VecFld_umap"]
a.write_h5ad(f"{out}/no_vecfld.h5ad")
PY

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }
run() { local np=$1; shift; "$MPI" --oversubscribe --bind-to none -n "$np" "$VF" "$@" -q; }

# A PNG's size and the count of pixels of given colours (a small zlib PNG decoder: no PIL here).
png_check() {   # file width height colour...
  $PY - "$@" <<'PY'
import struct, sys, zlib
path, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), f"unexpected PNG format {depth} {ctype}"
        bpp = 4 if ctype == 6 else 3
    if kind == b"IDAT":
        idat += body
    pos += 12 + length
assert (w, h) == (width, height), f"size {w}x{h}, expected {width}x{height}"
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev, p = [], bytearray(stride), 0
for y in range(h):
    f = raw[p]; line = bytearray(raw[p + 1:p + 1 + stride]); p += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
counts = {}
for colour in sys.argv[4:]:
    # cairo writes BGRA in memory but RGBA in the PNG
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    counts[colour] = sum(1 for line in rows for x in range(0, stride, bpp) if line[x] == r and line[x + 1] == g and line[x + 2] == b)
print(" ".join(f"{c}:{n}" for c, n in counts.items()))
assert all(n > 50 for n in counts.values()), f"a colour is missing: {counts}"
PY
}

# 1. Size, the uns colours, the same bytes at 1 and 3 ranks.
for np in 1 3; do
  run $np streamline-plot "$tmp/good.h5ad" "$tmp/s_np$np.png" --color clusters --width 4 --height 3 --dpi 100 ||
    bad "streamline-plot at $np ranks"
done
if out=$(png_check "$tmp/s_np1.png" 400 300 "#e41a1c" "#377eb8" "#4daf4a" 2>&1); then ok "PNG 400×300, uns clusters_colors drawn ($out)"; else bad "PNG: $out"; fi
if cmp -s "$tmp/s_np1.png" "$tmp/s_np3.png"; then ok "the same PNG at 1 and 3 ranks"; else bad "the PNG differs between 1 and 3 ranks"; fi
run 1 streamline-plot "$tmp/good.h5ad" "$tmp/palette.png" --color clusters --color_key "late=#ff00ff" --dpi 100 &&
  out=$(png_check "$tmp/palette.png" 640 500 "#e41a1c" "#377eb8" "#ff00ff" 2>&1) && ok "--color_key overrides one colour ($out)" || bad "--color_key: $out"

# 2. Every plot in every format; SVG parses as XML, PDF has its header and trailer.
for np in 1 3; do
  run $np streamline-plot "$tmp/good.h5ad" "$tmp/s.svg" --color clusters --show_legend right || bad "svg at $np ranks"
  run $np topography-plot "$tmp/good.h5ad" "$tmp/t.pdf" --color clusters || bad "topography pdf at $np ranks"
  run $np scatter-plot "$tmp/good.h5ad" "$tmp/c.png" --color latent_time --cmap inferno || bad "scatter at $np ranks"
  run $np streamline-plot "$tmp/good.h5ad" "$tmp/p.pdf" --basis umap_perturbation --color clusters --field cells || bad "perturbation at $np ranks"
done
if out=$($PY - "$tmp/s.svg" <<'PY' 2>&1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
assert root.get("width") == "460.8pt" and root.get("height") == "360pt", (root.get("width"), root.get("height"))
paths = len(root.findall(".//" + ns + "path"))
assert paths >= 600, f"{paths} paths for 600 cells"
print(f"{paths} paths")
PY
); then ok "SVG is XML with an svg root of 460.8×360 pt ($out)"; else bad "SVG: $out"; fi
for f in t.pdf p.pdf; do
  if [ "$(head -c 5 "$tmp/$f")" = "%PDF-" ] && tail -c 7 "$tmp/$f" | grep -q "%%EOF"; then ok "$f starts with %PDF- and ends with %%EOF"; else bad "$f is not a complete PDF"; fi
done
png_check "$tmp/c.png" 960 750 >/dev/null 2>&1 && ok "scatter-plot PNG 960×750 (defaults)" || bad "scatter-plot PNG size"

# 3. Every key in --help.
help=$("$VF" streamline-plot --help 2>&1)
for key in basis components color color_key show_legend cmap vmin vmax width height dpi pointsize alpha title font_size rasterize \
           velocity_key field xy_grid_nums min_cells density linewidth arrowsize streamline_color integrator min_speed; do
  grep -q -- "--$key " <<<"$help" || bad "streamline-plot --help lacks --$key"
done
"$VF" scatter-plot --help 2>&1 | grep -q -- "--density" && bad "scatter-plot --help offers streamline options"
ok "--help lists every option"

# 4. Bad input: one line naming the file, key and problem; non-zero exit; no figure.
expect_error() {   # np expected-text command...
  local np=$1 want=$2; shift 2
  rm -f "$tmp/err.png"
  local got rc
  got=$(run "$np" "$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$got" && [ "$(grep -c 'error' <<<"$got")" -eq 1 ] && [ ! -e "$tmp/err.png" ]; then
    ok "np $np: $want"
  else
    bad "np $np: expected '$want' (exit $rc): $got"
  fi
}
for np in 1 3; do
  expect_error $np "good.h5ad: obsm/X_tsne: not present: no embedding 'tsne' (this file has embeddings: umap)" \
    streamline-plot "$tmp/good.h5ad" "$tmp/err.png" --basis tsne --color clusters
  expect_error $np "good.h5ad: obs/cluster: no such obs column to colour by (this file has: clusters, latent_time, label)" \
    scatter-plot "$tmp/good.h5ad" "$tmp/err.png" --color cluster
  expect_error $np "good.h5ad: obs/label: a string column: colour by a categorical or numeric column" \
    scatter-plot "$tmp/good.h5ad" "$tmp/err.png" --color label
  expect_error $np "no_vecfld.h5ad: uns/VecFld_umap: not present: topography-plot needs the vector field" \
    topography-plot "$tmp/no_vecfld.h5ad" "$tmp/err.png" --color clusters
  expect_error $np "--streamline-plot.show_legend: expected on_data, right or none, found 'left'" \
    streamline-plot "$tmp/good.h5ad" "$tmp/err.png" --show_legend left
  expect_error $np "err.jpg: unknown figure format; use .png, .svg or .pdf" \
    scatter-plot "$tmp/good.h5ad" "$tmp/err.jpg" --color clusters
done

echo "passed $passed, failed $failed"
[ "$failed" -eq 0 ]
