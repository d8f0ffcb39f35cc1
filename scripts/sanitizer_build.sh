#!/usr/bin/env bash
# Configures (once) and builds targets of the clang ASan + UBSan + libFuzzer-coverage build that
# scripts/test_sanitizers.sh and scripts/fuzz.sh share. -O1: ASan's recommended speed/report
# trade-off; -g1: line numbers in reports at a fraction of full debug info's build time; no
# -Werror (clang warns differently from GCC, which CI's main build holds to -Werror).
# tests/sanitizers/asan_ignorelist.txt: third-party header functions left uninstrumented (each
# entry says why). Logs: BUILD_DIR/sanitizer-{configure,build}.log.
#   bash scripts/sanitizer_build.sh BUILD_DIR TARGET...
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1; shift
mkdir -p "$BUILD"
FLAGS="-O1 -g1 -fsanitize-ignorelist=$(pwd)/tests/sanitizers/asan_ignorelist.txt"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DVELOFIELD_SANITIZE=ON -DVELOFIELD_FUZZ=ON -DVELOFIELD_BUILD_BENCHMARKS=OFF -DVELOFIELD_TEST_RANKS="1;2" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="$FLAGS" -DCMAKE_C_FLAGS_RELEASE="-O1 -g1" \
  > "$BUILD/sanitizer-configure.log" 2>&1 || { cat "$BUILD/sanitizer-configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" --target "$@" > "$BUILD/sanitizer-build.log" 2>&1 \
  || { grep -B5 -A20 'error' "$BUILD/sanitizer-build.log" | head -80; exit 1; }
