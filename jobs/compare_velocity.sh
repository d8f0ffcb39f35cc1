#!/usr/bin/env bash
# `velofield compare-velocity` on the pancreas data (issue 12, consensus): stochastic, velovi,
# celldancer — plus latentvelo and deepvelo when the dynamics registry has them — run on the
# tutorial's preprocess + moments + umap base, compared in PCA space, with CBDir/ICCoh per method on
# the known endocrinogenesis transitions, a Markdown report and the figure (docs/figures/
# compare_velocity_pancreas.png). Seconds per method and peak RSS per rank from --timings.
#   bash jobs/compare_velocity.sh [WORKDIR=/tmp/velofield-compare] [RANKS=2]
# Epoch caps (the full defaults take ~40 min for velovi alone on this shared 2-core machine):
#   VELOVI_EPOCHS (default 60), CELLDANCER_EPOCHS (default 200), EXTRA_OPTIONS (more dynamics keys).
# OUTPUT names the result (default WORKDIR/pancreas_compare.h5ad).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/velofield-compare}; NP=${2:-2}
BUILD=${BUILD:-$HERE/build}
VF=${VELOFIELD:-$BUILD/src/velofield}
SHARED=${VELOFIELD_SHARED_DIR:-$HERE/../shared}
PANCREAS=$SHARED/data/pancreas_supercell_3696x2000.h5ad
TRANSITIONS="Ngn3 low EP>Ngn3 high EP>Pre-endocrine>{Alpha,Beta,Delta,Epsilon}"
COLORS="Ductal=#8fbc8f, Ngn3 low EP=#f4a460, Ngn3 high EP=#fdbf6f, Pre-endocrine=#ff7f00, Beta=#b2df8a, Alpha=#1f78b4, Delta=#6a3d9a, Epsilon=#cab2d6"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --quiet --oversubscribe --bind-to none)
[ -f "$PANCREAS" ] || { echo "$PANCREAS is absent: nothing to compare"; exit 0; }
mkdir -p "$WORK"
# METHODS given: exactly those; otherwise the three plus whichever of latentvelo/deepvelo is registered.
if [ -z "${METHODS:-}" ]; then
  METHODS=stochastic,velovi,celldancer
  for extra in latentvelo deepvelo; do
    if "$VF" dynamics --help 2>/dev/null | grep -q "$extra:"; then METHODS="$METHODS,$extra"; fi
  done
fi
# INPUT: compare this file instead of the fresh base (methods whose velocity_S_<method> it holds are read).
BASE=$WORK/pancreas_base.h5ad
[ -f "$BASE" ] || "${MPI[@]}" -n "$NP" "$VF" run --config "$HERE/inputs/pancreas.ini" --run.stages "preprocess, moments, umap" \
                    --run.output "$BASE" -q </dev/null
IN=${INPUT:-$BASE}
echo "methods: $METHODS ($NP ranks) on $IN"
"${MPI[@]}" -n "$NP" "$VF" compare-velocity "$IN" "${OUTPUT:-$WORK/pancreas_compare.h5ad}" --methods "$METHODS" \
  --dynamics_options "max_epochs=${VELOVI_EPOCHS:-60}, max_epoches=${CELLDANCER_EPOCHS:-200}, celldancer_weights=$SHARED/reference/celldancer${EXTRA_OPTIONS:+, $EXTRA_OPTIONS}" \
  --transitions "$TRANSITIONS" --color_key "$COLORS" \
  --report "$WORK/compare_velocity_pancreas.md" --figure "$WORK/compare_velocity_pancreas.png" \
  --timings "$WORK/compare_timings.json" </dev/null
cat "$WORK/compare_velocity_pancreas.md"
/usr/bin/python3 - "$WORK/compare_timings.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["stages"]:
    rss = " / ".join("%.0f" % (b / 1048576) for b in s.get("peak_rss_bytes_per_rank", []))
    print(f"{s['stage']:<28} {s['wall_seconds']:9.1f} s   peak RSS MiB per rank: {rss}")
PY
echo "figure: $WORK/compare_velocity_pancreas.png (copy to docs/figures/compare_velocity_pancreas.png)"
