#!/usr/bin/env bash
# One rank failing alone in any stage ends the whole job at 3 ranks: a non-zero exit, the failing
# rank's message on stderr, no hung rank (the run is bounded by `timeout`), and no output file.
# The failure is planted with the testing hook VELOFIELD_FAULT="stage=S,rank=R[,when=before|after]"
# (src/pipeline/fault_injection.hpp): rank R throws right before (or after) stage S while the other
# ranks go on into the stage's collective calls. Every registered stage is covered (and
# vectorfield:umap, its second run), each at a different rank; a fault after the last stage (the other ranks are writing the output), and a
# malformed hook that every rank rejects alike (then exactly one message and exit 1).
#   usage: test_rank_failure.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
. "$(dirname "$0")/lib.sh"

# The stages of a full pipeline (dynamo's tutorial and its vector-field analyses), and
# import-velocity (dynamo's other way to a velocity) in a second one, compare-velocity in a third.
PIPELINE="preprocess, moments, dynamics, umap, cell-velocities, vectorfield, vectorfield:umap, topography, perturbation, plot"
IMPORT_PIPELINE="preprocess, moments, import-velocity"
COMPARE_PIPELINE="preprocess, moments, umap, compare-velocity"
covered=" preprocess moments dynamics umap cell-velocities vectorfield topography perturbation plot import-velocity compare-velocity "
# A stage registered later must be added here: every registered stage gets its fault case.
for s in $(grep -o 'register_stage([a-z:_]*_stage()' "$ROOT/src/pipeline/stage_list.cpp" | sed 's/register_stage(\(plot::\)\{0,1\}//; s/_stage()//; s/_/-/g'); do
  [[ "$covered" == *" $s "* ]] || bad "stage '$s' is registered but has no fault case in this test"
done

# 800 cells: at least one vector-field chunk (256 cells) per rank at 3 ranks.
mpi1() { timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n 1 "$VF" "$@" -q < /dev/null; }
mpi1 simulate --cells 800 --genes 120 --seed 2 --out "$tmp/in.h5ad" || { echo "cannot simulate the input"; exit 1; }
# The perturbed gene must be one preprocess selects.
mpi1 preprocess "$tmp/in.h5ad" "$tmp/pp.h5ad" --n_pca_components 10 || { echo "cannot preprocess the input"; exit 1; }
gene=$($PY -c "import anndata,sys; a=anndata.read_h5ad(sys.argv[1]); print(a.var_names[a.var['use_for_pca'].values.astype(bool)][0])" "$tmp/pp.h5ad")
config() {   # stages output
  cat <<INI
[run]
input = $tmp/in.h5ad
output = $2
stages = $1
simulate_if_missing = false
[preprocess]
n_pca_components = 10
[cell-velocities]
bases = umap, pca
[vectorfield]
basis = pca
M = 40
[vectorfield:umap]
basis = umap
M = 40
[topography]
basis = umap
[perturbation]
genes = $gene
[plot]
kind = scatter-plot
basis = umap
color = clusters
figure = $tmp/figure.png
[import-velocity]
velocity = $tmp/in.h5ad:true_velocity_S
[compare-velocity]
methods = stochastic, deterministic
INI
}
config "$PIPELINE" "$tmp/out/full.h5ad" > "$tmp/full.ini"
config "$IMPORT_PIPELINE" "$tmp/out/full.h5ad" > "$tmp/import.ini"
config "$COMPARE_PIPELINE" "$tmp/out/full.h5ad" > "$tmp/compare.ini"

# The pipelines work without a fault (else a failure below would prove nothing).
for ini in full import compare; do
  rm -rf "$tmp/out"
  if timeout 600 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" run --config "$tmp/$ini.ini" -q < /dev/null > "$tmp/log" 2>&1 \
     && [ -f "$tmp/out/full.h5ad" ]; then
    ok "the $ini pipeline runs at 3 ranks without a fault"
  else
    bad "the $ini pipeline fails without a fault"; sed 's/^/     /' "$tmp/log"; exit 1
  fi
done

# fault NAME INI FAULT MESSAGE: the run fails, says MESSAGE, leaves no output.
fault() {
  local name=$1 ini=$2 spec=$3 want=$4
  rm -rf "$tmp/out"
  VELOFIELD_FAULT=$spec timeout 300 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" run --config "$tmp/$ini.ini" -q \
    < /dev/null > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$? problems=""
  [ $rc -eq 0 ] && problems+=" exit code 0;"
  [ $rc -eq 124 ] && problems+=" timed out (a rank hung);"
  grep -q -F -- "velofield: error: $want" "$tmp/stderr" || problems+=" stderr does not say '$want';"
  [ -e "$tmp/out/full.h5ad" ] && problems+=" an output file was written;"
  # A checkpoint, where one was written before the fault, must be a complete file of its stages.
  if [ -e "$tmp/out/full.checkpoint.h5ad" ]; then
    $PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); assert 'completed_stages' in f['uns/velofield']" \
      "$tmp/out/full.checkpoint.h5ad" 2>/dev/null || problems+=" the checkpoint is not a complete file;"
  fi
  if [ -z "$problems" ]; then
    ok "$name: exit $rc, $(grep -F 'velofield: error:' "$tmp/stderr" | head -1)"
  else
    bad "$name:$problems"; sed 's/^/     stderr: /' "$tmp/stderr"
  fi
}

i=0
for stage in ${PIPELINE//,/}; do
  r=$((i % 3)); i=$((i + 1))
  fault "rank $r fails before $stage" full "stage=$stage,rank=$r" "VELOFIELD_FAULT: injected fault before stage '$stage' on rank $r"
done
fault "rank 1 fails before import-velocity" import "stage=import-velocity,rank=1" \
  "VELOFIELD_FAULT: injected fault before stage 'import-velocity' on rank 1"
fault "rank 2 fails before compare-velocity" compare "stage=compare-velocity,rank=2" \
  "VELOFIELD_FAULT: injected fault before stage 'compare-velocity' on rank 2"
# After the last stage: ranks 0 and 1 are already writing the output when rank 2 fails.
fault "rank 2 fails after the last stage" full "stage=plot,rank=2,when=after" \
  "VELOFIELD_FAULT: injected fault after stage 'plot' on rank 2"

# Every rank rejects a malformed hook alike: one message, exit 1, no abort.
rm -rf "$tmp/out"
VELOFIELD_FAULT="stage=umap" timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" run --config "$tmp/full.ini" -q \
  < /dev/null > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c . "$tmp/stderr")" -eq 1 ] \
   && grep -q -F "velofield: error: VELOFIELD_FAULT=stage=umap: stage and rank are required" "$tmp/stderr"; then
  ok "a malformed VELOFIELD_FAULT: one line, exit 1: $(cat "$tmp/stderr")"
else
  bad "a malformed VELOFIELD_FAULT: exit $rc"; sed 's/^/     stderr: /' "$tmp/stderr"
fi

echo "rank failure: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
