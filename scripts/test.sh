#!/usr/bin/env bash
# Runs DetSlim's test suites with ctest. Real-data suites use $DETSLIM_TEST_DATA; when it is unset
# and ../shared/data exists beside the checkout, that folder is used. Extra arguments go to ctest
# (e.g. `scripts/test.sh -L unit`, `scripts/test.sh -LE slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${DETSLIM_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/CTestTestfile.cmake" ]; then
  echo "test: no build in $BUILD_DIR; run scripts/setup.sh first" >&2
  exit 2
fi
if [ -z "${DETSLIM_TEST_DATA:-}" ] && [ -d ../shared/data ]; then
  DETSLIM_TEST_DATA="$(cd ../shared/data && pwd)"
  export DETSLIM_TEST_DATA
fi
echo "test: DETSLIM_TEST_DATA=${DETSLIM_TEST_DATA:-<unset: real-data tests will skip>}"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d /tmp/detslim-xdg.XXXXXX)}"
chmod 700 "$XDG_RUNTIME_DIR"
exec ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel "${DETSLIM_TEST_JOBS:-2}" "$@"
