#!/usr/bin/env bash
# A long fuzzing session (default 1 h per target) on one node, e.g. overnight or as a Slurm job:
#   sbatch --time=04:00:00 --cpus-per-task=1 jobs/fuzz.sh      FUZZ_SECONDS=3600 (per target)
# Corpora grow in build-asan/corpus/ across runs; findings go to build-asan/findings/<target>/.
# Turn each finding into a regression: copy the reproducer to tests/fuzz/regressions/<target>/,
# fix the bug, and add a unit or e2e test that reads the same input (see
# docs/reliability-sanitizers-fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS=${FUZZ_SECONDS:-3600}
exec bash scripts/fuzz.sh "$@"
