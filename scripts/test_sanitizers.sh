#!/usr/bin/env bash
# Sanitizer CI, run by .ci/run after scripts/test.sh. One clang build (build-asan) with ASan +
# UBSan, and libFuzzer coverage so that the fuzz targets link the same library:
#   1. a subset of the test suite (why this subset: docs/reliability-sanitizers-fuzzing.md) at 1
#      and 2 ranks, with ASan's leak check off (Open MPI's own allocations read as leaks);
#   2. LeakSanitizer over the CLI running the tutorial job (inputs/pancreas.ini, every stage) on
#      a small simulated input, on one rank, with suppressions for MPI/HDF5/PETSc internals only;
#   3. scripts/fuzz.sh: saved reproducers, then FUZZ_SECONDS (60) per fuzz target.
#   bash scripts/test_sanitizers.sh            SKIP_FUZZ=1 to leave out step 3
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${ASAN_BUILD_DIR:-build-asan}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s)

# Kernels and unit tests; I/O, collective errors and the data model; one test per stage family
# (simulate, kNN, subset/preprocess data, dynamics, transition, vectorfield, evaluate).
MPI_TESTS=(test_h5ad_roundtrip test_collective_errors test_dataset_summary test_subset_cells test_simulate
           test_knn test_dynamics_simulated test_transition_simulated test_vectorfield_ranks test_evaluate)
BAD_INPUTS=(truncated indptr_out_of_range index_too_large nan_counts unsupported_encoding)

bash scripts/sanitizer_build.sh "$BUILD" velofield velofield_unit_tests velofield_kernel_tests "${MPI_TESTS[@]}" \
  fuzz_config fuzz_h5ad_layout fuzz_h5ad_bytes
t1=$(date +%s)
echo "sanitizers: build $((t1 - t0)) s"

# Every report aborts the process, so a finding fails its test. UCX's malloc hooks fight ASan's
# allocator; Open MPI's shared-memory transport does not need UCX on one node.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader UCX_MEM_MALLOC_HOOKS=no
regex="^(kernels|unit"
for t in "${MPI_TESTS[@]}"; do regex+="|${t}_np[12]"; done
for c in "${BAD_INPUTS[@]}"; do regex+="|bad_input_$c"; done
regex+=")\$"
(cd "$BUILD" && ctest --output-on-failure --timeout 900 -R "$regex")
t2=$(date +%s)
echo "sanitizers: ASan/UBSan tests $((t2 - t1)) s"

# LeakSanitizer over the tutorial job: every stage of inputs/pancreas.ini on a simulated input.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0 \
  mpirun --quiet --oversubscribe --bind-to none -n 1 "$BUILD/src/velofield" run --config inputs/pancreas.ini \
    --run.input "$tmp/absent.h5ad" --run.output "$tmp/tutorial.h5ad" \
    --simulate.cells 300 --simulate.genes 200 --vectorfield.M 50 -q > "$tmp/lsan.log" 2>&1 \
  || { echo "sanitizers: the tutorial job under LeakSanitizer failed"; tail -60 "$tmp/lsan.log"; exit 1; }
[ -s "$tmp/tutorial.h5ad" ] || { echo "sanitizers: the tutorial job wrote no output"; exit 1; }
t3=$(date +%s)
echo "sanitizers: LeakSanitizer tutorial job $((t3 - t2)) s"

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  FUZZ_BUILD_DIR="$BUILD" bash scripts/fuzz.sh
  echo "sanitizers: fuzzing $(( $(date +%s) - t3 )) s"
fi
echo "sanitizers: total $(( $(date +%s) - t0 )) s"
