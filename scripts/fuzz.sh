#!/usr/bin/env bash
# Fuzzes DetSlim's ONNX loader with libFuzzer for ${DETSLIM_FUZZ_SECONDS:-60} seconds.
#
# Builds tests/fuzz/standalone (core/base, graph IR, core/onnx with -fsanitize=fuzzer-no-link,
# address; the target with -fsanitize=fuzzer,address,undefined) into build-fuzz with clang, then
# runs it on a copy of tests/fuzz/corpus (the checked-in seeds stay as they are). New inputs the
# fuzzer finds stay in build-fuzz/corpus for the next run; crash reproducers land in
# build-fuzz/artifacts. Exits non-zero when the fuzzer finds a crash, leak, timeout or OOM.
#
# Environment: DETSLIM_FUZZ_SECONDS (default 60), DETSLIM_FUZZ_JOBS (parallel build jobs,
# default 2), DETSLIM_FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

SECONDS_TO_RUN="${DETSLIM_FUZZ_SECONDS:-60}"
JOBS="${DETSLIM_FUZZ_JOBS:-2}"
BUILD_DIR="${DETSLIM_FUZZ_BUILD_DIR:-build-fuzz}"

CXX_BIN="$(command -v clang++ || true)"
if [ -z "$CXX_BIN" ]; then
  echo "fuzz: clang++ is not installed; skipping the libFuzzer run (apt-get install clang)"
  exit 0
fi

echo "fuzz: configuring $BUILD_DIR with $CXX_BIN"
cmake -S tests/fuzz/standalone -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" --target fuzz_onnx_loader --parallel "$JOBS"

# The fuzzer writes new inputs into the first corpus folder: give it a working copy.
mkdir -p "$BUILD_DIR/corpus" "$BUILD_DIR/artifacts"
cp -n tests/fuzz/corpus/* "$BUILD_DIR/corpus/" 2>/dev/null || true

echo "fuzz: running for $SECONDS_TO_RUN s"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export ASAN_OPTIONS
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
set +e
# A fixed seed makes a run repeat the same mutation sequence, so what passes here passes in CI
# (a run only goes further or less far in it); the regression inputs are replayed first.
"$BUILD_DIR/fuzz_onnx_loader" "$BUILD_DIR/corpus" tests/fuzz/regressions \
  -seed="${DETSLIM_FUZZ_SEED:-20261121}" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$ROOT/$BUILD_DIR/artifacts/" > "$BUILD_DIR/fuzz.log" 2>&1
status=$?
grep -E "^(stat::|Done)|ERROR|SUMMARY" "$BUILD_DIR/fuzz.log" | tail -n 20
set -e
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status); reproducers in $BUILD_DIR/artifacts/," \
       "log in $BUILD_DIR/fuzz.log"
  exit "$status"
fi
echo "fuzz: no crash in $SECONDS_TO_RUN s (log: $BUILD_DIR/fuzz.log)"
