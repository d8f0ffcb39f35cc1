#!/usr/bin/env bash
# The tutorial job gives the same result at 1, 2, 3 and 4 ranks: inputs/pancreas.ini (every stage
# of dynamo's tutorial: preprocess, moments, dynamics, umap, cell-velocities, vectorfield in pca and
# in umap) on the pancreas data, or, without ../shared, the same stages on the simulated stand-in
# its [simulate] section describes. The outputs are compared slot by slot by compare_ranks.py:
# bitwise, except the slots it lists with their tolerance and the reason. Checkpoints are off
# (they write the whole 0.5 GB dataset after each stage and cannot change a result; the kill test
# covers them), the rest of the job is as the user runs it.
#   usage: test_determinism.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

config=$ROOT/inputs/pancreas.ini
extra=()
SHARED=${VELOFIELD_SHARED_DIR:-$ROOT/../shared}
if [ -f "$SHARED/data/pancreas_supercell_3696x2000.h5ad" ]; then
  extra+=(--run.input "$SHARED/data/pancreas_supercell_3696x2000.h5ad")
else
  echo "NOTE: $SHARED/data/pancreas_supercell_3696x2000.h5ad is absent: the job runs on its simulated stand-in (CI has the data)"
  extra+=(--run.input "$tmp/absent.h5ad")
fi

# Figures of the job's plot sections go to the temporary folder, not to the repository's out/.
figures() {
  for section in $(grep -o '^\[plot[^]]*\]' "$config" | tr -d '[]' | sort -u); do
    printf -- '--%s.figure %s ' "$section" "$tmp/$1_${section//:/_}.png"
  done
}

failed=0
for np in 1 2 3 4; do
  if ! timeout 900 "$MPI" --quiet --oversubscribe --bind-to none -n "$np" "$VF" run --config "$config" -q \
         --run.output "$tmp/np$np.h5ad" --run.checkpoint false "${extra[@]}" $(figures "np$np") < /dev/null > "$tmp/log$np" 2>&1; then
    echo "FAIL the job at $np rank(s):"; sed 's/^/     /' "$tmp/log$np"; failed=1
  fi
done
[ $failed -eq 0 ] || exit 1

$PY "$HERE/compare_ranks.py" "$tmp/np1.h5ad" "$tmp/np2.h5ad" "$tmp/np3.h5ad" "$tmp/np4.h5ad" || failed=1

# The comparison must be able to fail: one ulp in the UMAP layout (a bitwise slot) and a 1e-5
# relative change in the pca-space field (a slot with a 1e-6 tolerance) are each caught. They are
# planted in outputs already compared (the files are 0.5 GB each: no copies).
mv "$tmp/np2.h5ad" "$tmp/ulp.h5ad"
mv "$tmp/np3.h5ad" "$tmp/field.h5ad"
$PY - "$tmp/ulp.h5ad" "$tmp/field.h5ad" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    x = f["obsm/X_umap"][...]
    x[7, 0] = np.nextafter(x[7, 0], np.float32(np.inf))   # a float32 step (a float64 one would round away)
    f["obsm/X_umap"][...] = x
with h5py.File(sys.argv[2], "r+") as f:
    v = f["uns/VecFld_pca/V"][...]
    v *= 1 + 1e-5
    f["uns/VecFld_pca/V"][...] = v
PY
for planted in ulp:/obsm/X_umap field:/uns/VecFld_pca/V; do
  bad=${planted%%:*} slot=${planted#*:}
  $PY "$HERE/compare_ranks.py" "$tmp/np1.h5ad" "$tmp/$bad.h5ad" > "$tmp/self_check" 2>&1
  if grep -q "^FAIL .*: $slot: " "$tmp/self_check"; then
    echo "ok   the comparison notices a planted change: $(grep "^FAIL .*: $slot: " "$tmp/self_check")"
  else
    echo "FAIL the comparison did not notice the planted change in $slot"; failed=1
  fi
done

[ $failed -eq 0 ] && echo "determinism: the tutorial job agrees at 1, 2, 3 and 4 ranks"
[ $failed -eq 0 ]
