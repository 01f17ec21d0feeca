#!/usr/bin/env bash
# DetSlim FP32 against ONNX Runtime 1.30 (and optionally OpenCV DNN) on the shared detectors,
# alternating the engines run by run in one process. Prints a Markdown table of medians and
# ratios. Usage: scripts/bench_engines.sh [RUNS] [PEER]   (defaults: 800 runs, ort)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-800}"
PEER="${2:-ort}"
DATA="${DETSLIM_TEST_DATA:-../shared/data}"
CLI="${DETSLIM_BUILD_DIR:-build}/app/cli/detslim"
echo "| model | input | threads | DetSlim median ms | $PEER median ms | ratio | DetSlim p99 ms | $PEER p99 ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for spec in "yolov5n_fp32.onnx:640" "yolox_nano.onnx:416"; do
  model="${spec%%:*}"
  for threads in 1 2; do
    json=$("$CLI" bench "$DATA/models/$model" --threads "$threads" --runs "$RUNS" --warmup 20 --vs "$PEER" --json)
    echo "$json" | jq -r --arg m "$model" --arg t "$threads" \
      '"| \($m) | \(.input_shape | map(tostring) | join("x")) | \($t) | \(.latency_ms.median * 100 | round / 100) | \(.peer.latency_ms.median * 100 | round / 100) | \(.ratio_median * 1000 | round / 1000) | \(.latency_ms.p99 * 100 | round / 100) | \(.peer.latency_ms.p99 * 100 | round / 100) |"'
  done
done
