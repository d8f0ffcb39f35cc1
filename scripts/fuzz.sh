#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan; tests/fuzz) in build-asan, makes their seed
# corpora, replays the saved crash reproducers (tests/fuzz/regressions) and fuzzes each target for
# FUZZ_SECONDS (60 in CI; jobs/fuzz.sh runs longer). Fails on any finding and says where the
# reproducer is.
#   bash scripts/fuzz.sh [TARGET...]        FUZZ_SECONDS=60 FUZZ_BUILD_DIR=build-asan
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${FUZZ_BUILD_DIR:-build-asan}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_config fuzz_h5ad_layout fuzz_h5ad_bytes)
SHARED=${VELOFIELD_SHARED_DIR:-$ROOT/../shared}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

bash scripts/sanitizer_build.sh "$BUILD" "${TARGETS[@]}"

# Seeds. Config: the shipped job files and every INI the tests write. h5ad bytes: the anndata
# fixture, every malformed file of the bad-input tests and the small files of ../shared/data.
# The structure-aware target starts empty: its input is a layout recipe, not a file.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"; mkdir -p "$SEEDS/fuzz_config" "$SEEDS/fuzz_h5ad_bytes" "$SEEDS/fuzz_h5ad_layout"
cp inputs/*.ini "$SEEDS/fuzz_config/"
for f in jobs/*.ini; do if [ -f "$f" ]; then cp "$f" "$SEEDS/fuzz_config/"; fi; done
printf '[run]\ninput = a.h5ad\noutput = b.h5ad\nstages = preprocess, moments\n[moments]\nn_neighbors = 1e3 ; c\nflag = yes\n' > "$SEEDS/fuzz_config/overrides.ini"
printf 'moments.n_neighbors=30\n[moments]\nn_neighbors=-9223372036854775809\nx=1e400\n' > "$SEEDS/fuzz_config/dotted.ini"
if /usr/bin/python3 -c 'import anndata, h5py' 2>/dev/null; then
  /usr/bin/python3 tests/interop/anndata_fixture.py "$SEEDS/fuzz_h5ad_bytes/fixture.h5ad" > /dev/null
  /usr/bin/python3 tests/e2e/make_bad_inputs.py "$SEEDS/fuzz_h5ad_bytes/fixture.h5ad" "$SEEDS/fuzz_h5ad_bytes" > /dev/null
fi
if [ -d "$SHARED/data" ]; then
  # Files over 4 MB make each execution slow (libFuzzer copies and mutates the whole input).
  find "$SHARED/data" -name '*.h5ad' -size -4M -exec cp {} "$SEEDS/fuzz_h5ad_bytes/" \;
else
  echo "fuzz: $SHARED/data is absent: h5ad seeds are the fixture and the bad inputs only"
fi

status=0
for t in "${TARGETS[@]}"; do
  exe="$BUILD/tests/fuzz/$t"
  corpus="$BUILD/corpus/$t" artifacts="$BUILD/findings/$t"
  mkdir -p "$corpus" "$artifacts"
  max_len=4096
  [ "$t" = fuzz_h5ad_bytes ] && max_len=4194304
  # Saved reproducers of past findings run first: each must now pass.
  regressions=(tests/fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "fuzz: $t: replaying ${#regressions[@]} saved reproducer(s)"
    "$exe" -rss_limit_mb=4096 "${regressions[@]}" > "$artifacts/regressions.log" 2>&1 \
      || { echo "fuzz: $t: a saved reproducer fails again"; tail -40 "$artifacts/regressions.log"; status=1; continue; }
  fi
  # FUZZ_SEEDS_ONLY="TARGET ...": run only the seeds of these targets, each once (no mutation).
  # CI does so for fuzz_h5ad_bytes: its mutations crash inside libhdf5 itself (see
  # docs/reliability-sanitizers-fuzzing.md), which no change to velofield can fix, while its
  # seeds (the malformed files of the bad-input tests, real .h5ad files) must read cleanly.
  if [[ " ${FUZZ_SEEDS_ONLY:-} " == *" $t "* ]]; then
    echo "fuzz: $t: its $(ls "$SEEDS/$t" | wc -l) seed file(s), once each"
    if ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$exe" -rss_limit_mb=4096 "$SEEDS/$t"/* > "$artifacts/seeds.log" 2>&1; then :; else
      status=1; echo "fuzz: $t: a seed fails"; grep -B2 -A30 -E 'ERROR: |runtime error|unclear error|deadly signal' "$artifacts/seeds.log" | head -60
    fi
    continue
  fi
  echo "fuzz: $t for $SECONDS_PER_TARGET s"
  # detect_leaks=0: MPI_Init's allocations (Open MPI, hwloc) are reported as leaks otherwise;
  # leaks in velofield are checked by the LeakSanitizer pass over the CLI (test_sanitizers.sh).
  if ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$exe" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=4096 -max_len=$max_len \
            -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$SEEDS/$t" > "$artifacts/run.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$artifacts/run.log" | tr '\n' ' ' | sed "s/^/fuzz: $t: /"; echo
  else
    status=1
    echo "fuzz: $t FOUND A PROBLEM; reproducer(s): $(ls "$artifacts" | grep -v '\.log$' | sed "s|^|$artifacts/|" | tr '\n' ' ')"
    grep -B2 -A30 -E 'ERROR: |runtime error|unclear error|round trip changed|deadly signal' "$artifacts/run.log" | head -60
  fi
done
exit $status
