#!/usr/bin/env bash
# anndata (Debian python3-anndata 0.8) and velofield read each other's files:
#  1. anndata writes a fixture with every slot kind; velofield converts it at 1, 2 and 3 ranks;
#     anndata reads each result and every slot equals the fixture; the three files are
#     byte-identical (the layout does not depend on the rank count); also with gzip + chunking.
#  2. the same for every file in ../shared/data (skipped with a message where it is absent).
# usage: test_anndata_roundtrip.sh PATH/TO/velofield
set -uo pipefail
VF=$1
MPI=${MPIEXEC:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
SHARED=${VELOFIELD_SHARED_DIR:-$HERE/../../../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

round_trip() {   # name input [convert options]
  local name=$1 input=$2; shift 2
  for np in 1 2 3; do
    if ! "$MPI" --quiet --oversubscribe --bind-to none -n $np "$VF" convert "$input" "$tmp/$name.np$np.h5ad" -q "$@" < /dev/null; then
      bad "$name: velofield convert failed at $np ranks"; return
    fi
    if out=$($PY "$HERE/check_against_anndata.py" "$input" "$tmp/$name.np$np.h5ad" 2>&1); then
      ok "$name np=$np: $out"
    else
      bad "$name np=$np:"; echo "$out" | sed 's/^/     /'
    fi
  done
  if cmp -s "$tmp/$name.np1.h5ad" "$tmp/$name.np2.h5ad" && cmp -s "$tmp/$name.np1.h5ad" "$tmp/$name.np3.h5ad"; then
    ok "$name: files written at 1, 2 and 3 ranks are byte-identical"
  else
    bad "$name: files written at 1, 2 and 3 ranks differ"
  fi
}

$PY "$HERE/anndata_fixture.py" "$tmp/fixture.h5ad" || { echo "cannot write the anndata fixture"; exit 1; }
round_trip fixture "$tmp/fixture.h5ad"
round_trip fixture_gzip "$tmp/fixture.h5ad" --gzip 4 --chunk-rows 8

if [ -d "$SHARED/data" ]; then
  for f in "$SHARED"/data/*.h5ad; do round_trip "$(basename "$f" .h5ad)" "$f"; done
else
  echo "SKIPPED: $SHARED/data is absent (CI has it): the shared datasets were not round-tripped"
fi
echo "anndata-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
