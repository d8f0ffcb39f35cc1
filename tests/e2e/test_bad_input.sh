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
trap 'umount "$tmp/tmpfs" 2> /dev/null; rm -rf "$tmp"' EXIT
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

known=" output_directory config_typo output_not_writable disk_full disk_full_tmpfs $(cut -d'|' -f1 "$tmp/cases" | tr '\n' ' ')"
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

# expect_refusal NAME WORDS [ENV=VALUE]: a run writing to $outdir fails before any work with WORDS
# on one line and leaves $outdir as it was.
expect_refusal() {
  local name=$1 words=$2; shift 2
  printf '[run]\ninput = %s\noutput = %s/result.h5ad\n' "$tmp/good.h5ad" "$outdir" > "$tmp/run.ini"
  local before; before=$(ls -A "$outdir" 2>&1)
  env "$@" timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" run --config "$tmp/run.ini" -q \
    < /dev/null > /dev/null 2> "$tmp/stderr"
  local rc=$? problems=""
  [ $rc -eq 0 ] && problems+=" exit code 0;"
  [ $rc -eq 124 ] && problems+=" timed out (a rank hung);"
  [ "$(grep -c . "$tmp/stderr")" -ne 1 ] && problems+=" expected 1 line on stderr;"
  grep -q -F -- "$words" "$tmp/stderr" || problems+=" message does not say '$words';"
  [ "$(ls -A "$outdir" 2>&1)" = "$before" ] || problems+=" the output directory changed: $(ls -A "$outdir");"
  if [ -z "$problems" ]; then passed=$((passed + 1)); echo "ok   $name: $(cat "$tmp/stderr")"
  else failed=$((failed + 1)); echo "FAIL $name:$problems"; sed 's/^/     stderr: /' "$tmp/stderr"; fi
}

# An output directory that does not accept files is refused before any work. Permission bits do
# not stop root, so as root a directory of /proc (which takes no new files) stands in.
if [ -z "$ONLY" ] || [ "$ONLY" = output_not_writable ]; then
  outdir="$tmp/readonly"; mkdir -p "$outdir"; chmod 555 "$outdir"
  if touch "$outdir/probe" 2> /dev/null; then rm -f "$outdir/probe"; outdir=/proc/1; fi
  expect_refusal output_not_writable "does not accept new files"
  chmod 755 "$tmp/readonly"
fi

# Too little free space for the run is refused before any work. VELOFIELD_FREE_BYTES stands in for
# the free-space figure of the filesystem (a testing hook: a full disk without filling one).
if [ -z "$ONLY" ] || [ "$ONLY" = disk_full ]; then
  outdir="$tmp/small_disk"; mkdir -p "$outdir"
  expect_refusal disk_full "not enough free space in $outdir: 4 KiB free, the run needs at least 218 KiB" VELOFIELD_FREE_BYTES=4096
fi

# A disk that fills up while the result is written, though the up-front check passed (it is a
# lower bound; VELOFIELD_FREE_BYTES makes it pass here): the write fails with a clear message and
# leaves no file behind. Needs a tmpfs mount (root); the arrays of the 110 KB result do not fit its 8 KiB.
if [ -z "$ONLY" ] || [ "$ONLY" = disk_full_tmpfs ]; then
  outdir="$tmp/tmpfs"; mkdir -p "$outdir"
  if mount -t tmpfs -o size=8k tmpfs "$outdir" 2> /dev/null; then
    printf '[run]\ninput = %s\noutput = %s/result.h5ad\ncheckpoint = false\n' "$tmp/good.h5ad" "$outdir" > "$tmp/run.ini"
    VELOFIELD_FREE_BYTES=1000000000 timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n 3 "$VF" run --config "$tmp/run.ini" -q \
      < /dev/null > /dev/null 2> "$tmp/stderr"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$(grep -c . "$tmp/stderr")" -eq 1 ] && grep -q -F "to write the result: 8 KiB free, its arrays alone take" "$tmp/stderr" \
       && [ -z "$(ls -A "$outdir")" ]; then
      passed=$((passed + 1)); echo "ok   disk_full_tmpfs: $(cat "$tmp/stderr")"
    else
      failed=$((failed + 1)); echo "FAIL disk_full_tmpfs: exit $rc, left: $(ls -A "$outdir")"; sed 's/^/     stderr: /' "$tmp/stderr"
    fi
    umount "$outdir"
  else
    echo "SKIPPED disk_full_tmpfs: cannot mount a tmpfs here (needs root); disk_full covers the up-front check"
  fi
fi

# A config key nobody declares is an error, not silently ignored.
if [ -z "$ONLY" ] || [ "$ONLY" = config_typo ]; then
printf '[run]\ninput = %s\noutputt = x.h5ad\n' "$tmp/good.h5ad" > "$tmp/typo.ini"
timeout 60 "$MPI" --oversubscribe -n 2 "$VF" run --config "$tmp/typo.ini" -q > /dev/null 2> "$tmp/stderr"
if [ $? -ne 0 ] && grep -q "outputt: unknown key" "$tmp/stderr"; then passed=$((passed + 1)); echo "ok   misspelt config key"; else failed=$((failed + 1)); echo "FAIL misspelt config key"; cat "$tmp/stderr"; fi
fi

echo "bad-input: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
