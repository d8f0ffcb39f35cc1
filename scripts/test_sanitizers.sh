#!/usr/bin/env bash
# Sanitizer CI, run by .ci/run after scripts/test.sh. One clang build (build-asan) with ASan +
# UBSan, and libFuzzer coverage so that the fuzz targets link the same library:
#   1. a subset of the test suite (why this subset: docs/reliability-sanitizers-fuzzing.md) at 1
#      and 2 ranks, with ASan's leak check off (Open MPI's own allocations read as leaks);
#   2. LeakSanitizer over the CLI running the tutorial's pipeline (inputs/demo.ini: every stage of
#      the tutorial on a simulated input, which needs no gene names of the pancreas data), small
#      (800 cells x 200 genes), on one rank, with suppressions for Open MPI internals only;
#   3. scripts/fuzz.sh: saved reproducers, then FUZZ_SECONDS (60) for fuzz_config and
#      fuzz_h5ad_layout; fuzz_h5ad_bytes runs its seeds only (its mutations find libhdf5's own
#      crashes; jobs/fuzz.sh fuzzes it at length).
# Every part runs even when an earlier one failed (one CI run shows every finding); the exit
# status is non-zero when any part failed. Each part prints its wall and CPU seconds and the load
# average, from which docs/reliability-sanitizers-fuzzing.md estimates the time on an idle machine.
#   bash scripts/test_sanitizers.sh            SKIP_FUZZ=1 to leave out step 3
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${ASAN_BUILD_DIR:-build-asan}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
# part NAME START: wall seconds since START, CPU seconds (user + system) of the finished child
# processes since the last part, the load average. `times` runs in this shell: a subshell's
# would count only its own children.
cpu_before=0
part() {
  times > "$tmp/times"
  local cpu; cpu=$(tail -1 "$tmp/times" | awk '{ split($1, u, "m"); split($2, s, "m"); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
  echo "sanitizers: $1: wall $(( $(date +%s) - $2 )) s, CPU $(( cpu - cpu_before )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
  cpu_before=$cpu
}

# Kernels and unit tests; I/O, collective errors and the data model; one test per stage family
# (simulate, kNN, subset/preprocess data, dynamics, transition, vectorfield, evaluate).
MPI_TESTS=(test_h5ad_roundtrip test_collective_errors test_dataset_summary test_subset_cells test_simulate
           test_knn test_dynamics_simulated test_transition_simulated test_vectorfield_ranks test_evaluate)
BAD_INPUTS=(truncated indptr_out_of_range index_too_large nan_counts unsupported_encoding)

bash scripts/sanitizer_build.sh "$BUILD" velofield velofield_unit_tests velofield_kernel_tests "${MPI_TESTS[@]}" \
  fuzz_config fuzz_h5ad_layout fuzz_h5ad_bytes
part build "$t0"
t1=$(date +%s)

# Every report aborts the process, so a finding fails its test. UCX's malloc hooks fight ASan's
# allocator; Open MPI's shared-memory transport does not need UCX on one node.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader UCX_MEM_MALLOC_HOOKS=no
regex="^(kernels|unit"
for t in "${MPI_TESTS[@]}"; do regex+="|${t}_np[12]"; done
for c in "${BAD_INPUTS[@]}"; do regex+="|bad_input_$c"; done
regex+=")\$"
(cd "$BUILD" && ctest --output-on-failure --timeout 900 -R "$regex") || failed+=("ASan/UBSan tests")
part "ASan/UBSan tests" "$t1"
t2=$(date +%s)

# LeakSanitizer over the tutorial's pipeline: every stage of inputs/demo.ini on its simulated tree,
# shrunk to CI size (the topography's starts and nullcline grid, and the separatrix integration,
# which alone takes minutes under ASan, exercise no allocation the smaller run does not).
# fast_unwind_on_malloc=0: the frame-pointer unwinder stops at the first library built without
# frame pointers (Open MPI, fontconfig), leaving stacks too short for the suppressions to find
# the library; the slow unwinder costs seconds here. disable_dlclose: Open MPI unloads its
# components at MPI_Finalize, before the leak check, which would leave "<unknown module>" frames.
if OMPI_MCA_mca_base_component_disable_dlclose=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
   LSAN_OPTIONS=suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0 \
   mpirun --quiet --oversubscribe --bind-to none -n 1 "$BUILD/src/velofield" run --config inputs/demo.ini \
     --run.input "$tmp/absent.h5ad" --run.output "$tmp/tutorial.h5ad" \
     --simulate.cells 800 --simulate.genes 200 --vectorfield.M 100 \
     --topography.n 10 --topography.cell_starts 20 --topography.nullcline_grid 30 --topography.separatrices false \
     > "$tmp/lsan.log" 2>&1; then
  [ -s "$tmp/tutorial.h5ad" ] || { echo "sanitizers: the tutorial job wrote no output"; failed+=("LeakSanitizer tutorial job"); }
else
  echo "sanitizers: the tutorial job under LeakSanitizer failed"; grep -v '^    #[0-9]' "$tmp/lsan.log" | tail -40
  grep -A12 -m3 'leak of' "$tmp/lsan.log" || true
  failed+=("LeakSanitizer tutorial job")
fi
part "LeakSanitizer tutorial job" "$t2"
t3=$(date +%s)

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  FUZZ_BUILD_DIR="$BUILD" FUZZ_SEEDS_ONLY=fuzz_h5ad_bytes bash scripts/fuzz.sh || failed+=(fuzzing)
  part fuzzing "$t3"
fi
cpu_before=0
part total "$t0"
if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitizers: FAILED: ${failed[*]}"
  exit 1
fi
echo "sanitizers: all passed"
