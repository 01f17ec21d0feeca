#!/usr/bin/env bash
# Cross-check `detslim eval` against the independent OpenCV-DNN reference pipeline
# (tools/reference/yolo_reference_eval.py) on COCO val2017 (128 images, YOLO labels).
#
# usage: compare_map.sh DETSLIM_BINARY [DATA_DIR] [--limit N] [--keep DIR] [--match-detslim]
#   DATA_DIR       the shared data folder (models/, coco/images/val2017, coco/labels/val2017);
#                  default: $DETSLIM_TEST_DATA
#   --limit N      first N images only (both pipelines)
#   --keep DIR     keep the GT / detection / score JSON files in DIR (default: a temporary folder)
#   --match-detslim  run the reference with DetSlim's documented conventions instead of the originals'
#                  (integer letterbox padding when mapping boxes back, exact per-class NMS IoUs,
#                  YOLOX boxes clipped to the image); the two should then agree to ~1e-9
#
# For each model it prints the reference and DetSlim mAP50-95 / mAP50 and their difference, and
# exits 1 when |difference| > tolerance (default 0.005 = 0.5 point; env DETSLIM_REF_TOL) for
# either number of either model. Exit 77 (skip) when the data, the models or a Python 3 with
# cv2 + numpy + onnx are missing. Environment: DETSLIM_PYTHON picks the interpreter.
set -uo pipefail

SKIP=77
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ref_py="$here/yolo_reference_eval.py"

if [ $# -lt 1 ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
detslim="$1"; shift
data="${DETSLIM_TEST_DATA:-}"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then data="$1"; shift; fi
limit=0; keep=""; match=0
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) limit="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --match-detslim) match=1; shift ;;
    *) echo "compare_map: unknown argument $1" >&2; exit 2 ;;
  esac
done
tol="${DETSLIM_REF_TOL:-0.005}"

if [ ! -x "$detslim" ]; then echo "compare_map: detslim binary not found: $detslim" >&2; exit 2; fi
if [ -z "$data" ]; then echo "compare_map: SKIP: no data dir (DETSLIM_TEST_DATA unset)"; exit $SKIP; fi
images="$data/coco/images/val2017"
if [ ! -d "$images" ] || [ ! -d "$data/coco/labels/val2017" ]; then
  echo "compare_map: SKIP: $images or its labels missing"; exit $SKIP
fi

# A Python 3 with cv2 (dnn), numpy and onnx. pyenv shims often hide the Debian packages, so
# /usr/bin/python3 is tried as well.
py=""
for cand in "${DETSLIM_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$cand" ] || continue
  command -v "$cand" >/dev/null 2>&1 || continue
  if "$cand" -c 'import cv2, numpy, onnx; cv2.dnn.readNetFromONNX' >/dev/null 2>&1; then py="$cand"; break; fi
done
if [ -z "$py" ]; then
  echo "compare_map: SKIP: no python3 with cv2 + numpy + onnx (apt-get install python3-opencv python3-numpy python3-onnx)"
  exit $SKIP
fi

if [ -n "$keep" ]; then mkdir -p "$keep"; work="$keep"; else
  work="$(mktemp -d /tmp/detslim-refmap.XXXXXX)"; trap 'rm -rf "$work"' EXIT
fi
echo "compare_map: detslim=$detslim data=$data python=$py ($("$py" -c 'import cv2; print("OpenCV", cv2.__version__)'))"
echo "compare_map: tolerance $tol, limit ${limit:-0}, conventions: $([ $match = 1 ] && echo DetSlim || echo 'original YOLOv5 / YOLOX')"

extra_common=()
[ "$limit" -gt 0 ] 2>/dev/null && extra_common+=(--limit "$limit")

fail=0; ran=0
summary=""
for spec in "yolov5n_fp32:yolov5" "yolox_nano:yolox"; do
  name="${spec%%:*}"; family="${spec##*:}"
  model="$data/models/$name.onnx"
  if [ ! -f "$model" ]; then echo "compare_map: $name: model missing, skipped"; continue; fi
  ref_extra=()
  if [ $match = 1 ]; then
    ref_extra+=(--nms-precision float64 --clip yes)
    [ "$family" = yolov5 ] && ref_extra+=(--scale-pad int)
  fi
  echo "== $name ($family)"
  if ! "$py" "$ref_py" --model "$model" --family "$family" --images "$images" \
        --out-gt "$work/${name}_gt.json" --out-dt "$work/${name}_ref_dt.json" \
        "${extra_common[@]}" "${ref_extra[@]}" 2>"$work/${name}_ref.log"; then
    cat "$work/${name}_ref.log" >&2; echo "compare_map: $name: reference pipeline failed" >&2; fail=1; continue
  fi
  tail -n 2 "$work/${name}_ref.log"
  if ! "$detslim" eval-coco --gt "$work/${name}_gt.json" --dt "$work/${name}_ref_dt.json" --json \
        >"$work/${name}_ref_score.json" 2>"$work/${name}_score.log"; then
    cat "$work/${name}_score.log" >&2; echo "compare_map: $name: eval-coco failed" >&2; fail=1; continue
  fi
  if ! "$detslim" eval --model "$model" --data "$images" --json "${extra_common[@]}" \
        --save-dets "$work/${name}_detslim_dt.json" \
        >"$work/${name}_detslim.json" 2>"$work/${name}_detslim.log"; then
    tail -n 20 "$work/${name}_detslim.log" >&2; echo "compare_map: $name: detslim eval failed" >&2; fail=1; continue
  fi
  line="$("$py" - "$work/${name}_ref_score.json" "$work/${name}_detslim.json" "$tol" "$name" <<'EOF'
import json, sys
ref = json.load(open(sys.argv[1]))["stats"]
ds = json.load(open(sys.argv[2]))["stats"]
tol = float(sys.argv[3]); name = sys.argv[4]
d0, d1 = ds[0] - ref[0], ds[1] - ref[1]
ok = abs(d0) <= tol and abs(d1) <= tol
print(f"{name:14s} mAP50-95 ref {ref[0]:.5f} detslim {ds[0]:.5f} diff {d0:+.5f} | "
      f"mAP50 ref {ref[1]:.5f} detslim {ds[1]:.5f} diff {d1:+.5f} | {'OK' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
)"
  rc=$?
  echo "$line"
  summary+="$line"$'\n'
  ran=$((ran + 1))
  [ $rc -ne 0 ] && fail=1
done

echo "== summary (tolerance $tol)"
printf '%s' "$summary"
if [ $ran -eq 0 ] && [ $fail -eq 0 ]; then echo "compare_map: SKIP: no model ran"; exit $SKIP; fi
if [ $fail -ne 0 ]; then echo "compare_map: FAIL"; exit 1; fi
echo "compare_map: OK"
exit 0
