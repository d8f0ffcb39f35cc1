#!/usr/bin/env bash
# Every bad input gives one line naming the file, the key and the problem, a non-zero exit, no
# output file (not even a partial one), and no hung rank — at 1 and 3 ranks.
# usage: test_bad_input.sh PATH/TO/velofield [CASE]   (CASE: one case only, as ctest runs them)
set -uo pipefail
VF=$1
ONLY=${2:-}
MPI=${MPIEXEC:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

$PY "$HERE/../interop/anndata_fixture.py" "$tmp/good.h5ad" || { echo "cannot make the fixture"; exit 1; }
$PY "$HERE/make_bad_inputs.py" "$tmp/good.h5ad" "$tmp/bad" > "$tmp/cases" || { echo "cannot make bad inputs"; exit 1; }

passed=0; failed=0
check() {   # name file key words ranks
  local name=$1 file=$2 key=$3 words=$4 np=$5
  local out="$tmp/out_$np"
  rm -rf "$out"; mkdir -p "$out"
  cat > "$tmp/run.ini" <<INI
[run]
input = $file
output = $out/result.h5ad
simulate_if_missing = false
INI
  local before_sum; before_sum=$( [ -f "$file" ] && sha256sum "$file" | cut -d' ' -f1 )
  timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n "$np" "$VF" run --config "$tmp/run.ini" -q < /dev/null > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  local problems=""
  [ $rc -eq 0 ] && problems+=" exit code 0;"
  [ $rc -eq 124 ] && problems+=" timed out (a rank hung);"
  local lines; lines=$(grep -c . "$tmp/stderr")
  [ "$lines" -ne 1 ] && problems+=" expected 1 line on stderr, got $lines;"
  grep -q -F "$(basename "$file")" "$tmp/stderr" || problems+=" message does not name the file;"
  [ -n "$key" ] && { grep -q -F "$key" "$tmp/stderr" || problems+=" message does not name key '$key';"; }
  grep -q -F "$words" "$tmp/stderr" || problems+=" message does not say '$words';"
  [ -n "$(ls -A "$out")" ] && problems+=" output directory not empty: $(ls -A "$out");"
  if [ -f "$file" ]; then
    [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$before_sum" ] || problems+=" the input file was modified;"
  fi
  if [ -z "$problems" ]; then
    passed=$((passed + 1)); echo "ok   $name (np=$np): $(cat "$tmp/stderr")"
  else
    failed=$((failed + 1)); echo "FAIL $name (np=$np):$problems"; sed 's/^/     stderr: /' "$tmp/stderr"
  fi
}

known=" output_directory config_typo $(cut -d'|' -f1 "$tmp/cases" | tr '\n' ' ')"
if [ -n "$ONLY" ] && [[ "$known" != *" $ONLY "* ]]; then echo "unknown case '$ONLY' (known:$known)"; exit 1; fi
while IFS='|' read -r name file key words; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && continue
  for np in 1 3; do check "$name" "$file" "$key" "$words" "$np"; done
done < "$tmp/cases"

# An unwritable output directory is refused before any work, with no partial file.
if [ -z "$ONLY" ] || [ "$ONLY" = output_directory ]; then
cat > "$tmp/run.ini" <<INI
[run]
input = $tmp/good.h5ad
output = $tmp/good.h5ad/sub/result.h5ad
INI
timeout 120 "$MPI" --oversubscribe -n 2 "$VF" run --config "$tmp/run.ini" -q > /dev/null 2> "$tmp/stderr"
if [ $? -ne 0 ] && grep -q "cannot create the output directory" "$tmp/stderr"; then passed=$((passed + 1)); echo "ok   uncreatable output directory: $(cat "$tmp/stderr")"; else failed=$((failed + 1)); echo "FAIL uncreatable output directory"; cat "$tmp/stderr"; fi
fi

# A config key nobody declares is an error, not silently ignored.
if [ -z "$ONLY" ] || [ "$ONLY" = config_typo ]; then
printf '[run]\ninput = %s\noutputt = x.h5ad\n' "$tmp/good.h5ad" > "$tmp/typo.ini"
timeout 60 "$MPI" --oversubscribe -n 2 "$VF" run --config "$tmp/typo.ini" -q > /dev/null 2> "$tmp/stderr"
if [ $? -ne 0 ] && grep -q "outputt: unknown key" "$tmp/stderr"; then passed=$((passed + 1)); echo "ok   misspelt config key"; else failed=$((failed + 1)); echo "FAIL misspelt config key"; cat "$tmp/stderr"; fi
fi

echo "bad-input: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
