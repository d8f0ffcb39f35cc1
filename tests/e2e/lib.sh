# Shared by the e2e scripts (source it after setting VF, MPI and tmp). It keeps the counters
# `passed` and `failed` that each script reports at its end.
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# run_bad STAGE HOW IN OUT NP COUNT_LAYERS [--key value]: STAGE on IN, either as `velofield STAGE IN OUT`
# (HOW=stage, the options passed on) or through `velofield run` with an INI file (HOW=run; one
# `--key value` becomes a [STAGE] entry). stdout and stderr go to $tmp/stdout and $tmp/stderr; a
# rank that hangs is stopped after 120 s (exit code 124). Returns the exit code.
run_bad() {
  local stage=$1 how=$2 in=$3 out=$4 np=$5 layers=$6; shift 6
  if [ "$how" = stage ]; then
    timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n "$np" "$VF" "$stage" "$in" "$out" -q "$@" \
      < /dev/null > "$tmp/stdout" 2> "$tmp/stderr"
  else
    printf '[run]\ninput = %s\noutput = %s\nstages = %s\nsimulate_if_missing = false\ncount_layers = %s\n' \
      "$in" "$out" "$stage" "$layers" > "$tmp/run.ini"
    [ $# -gt 0 ] && printf '[%s]\n%s = %s\n' "$stage" "${1#--}" "$2" >> "$tmp/run.ini"
    timeout 120 "$MPI" --quiet --oversubscribe --bind-to none -n "$np" "$VF" run --config "$tmp/run.ini" -q \
      < /dev/null > "$tmp/stdout" 2> "$tmp/stderr"
  fi
}

# verdict RC FILE_NAME WORDS OUT_DIR LABEL: a bad input must give a non-zero exit, no hung rank,
# exactly one line on stderr naming the file and saying WORDS, and nothing left in OUT_DIR.
verdict() {
  local rc=$1 name=$2 words=$3 out=$4 label=$5 problems=""
  [ "$rc" -eq 0 ] && problems+=" exit code 0;"
  [ "$rc" -eq 124 ] && problems+=" timed out (a rank hung);"
  local lines; lines=$(grep -c . "$tmp/stderr")
  [ "$lines" -ne 1 ] && problems+=" expected 1 line on stderr, got $lines;"
  grep -q -F "$name.h5ad" "$tmp/stderr" || problems+=" message does not name the file;"
  grep -q -F "$words" "$tmp/stderr" || problems+=" message does not say '$words';"
  [ -n "$(ls -A "$out")" ] && problems+=" output left behind: $(ls -A "$out");"
  if [ -z "$problems" ]; then
    passed=$((passed + 1)); echo "ok   $label: $(cat "$tmp/stderr")"
  else
    failed=$((failed + 1)); echo "FAIL $label:$problems"; sed 's/^/     stderr: /' "$tmp/stderr"
  fi
}
