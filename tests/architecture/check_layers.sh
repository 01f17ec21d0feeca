#!/usr/bin/env bash
# The include direction of docs/ARCHITECTURE.md: app -> ui -> core, never backwards; core never
# includes Qt, onnx headers stay inside core/onnx. Prints every violation and fails on any.
set -u
root="$1"
fail=0
report() { echo "layering violation: $1"; fail=1; }
while IFS= read -r line; do report "core includes Qt or ui/app: $line"; done < <(
  grep -rnE '#include\s*[<"](Q[A-Za-z]+|Qt[A-Za-z]*/|ui/|app/)' "$root/core" || true)
while IFS= read -r line; do report "ui includes app: $line"; done < <(
  grep -rnE '#include\s*"app/' "$root/ui" || true)
while IFS= read -r line; do report "onnx headers outside core/onnx: $line"; done < <(
  grep -rnE '#include\s*[<"]onnx/' "$root/core" "$root/ui" "$root/app" | grep -v "^$root/core/onnx/" || true)
while IFS= read -r line; do report "the CLI includes Qt or ui: $line"; done < <(
  grep -rnE '#include\s*[<"](Q[A-Za-z]+|Qt[A-Za-z]*/|ui/)' "$root/app/cli" || true)
if [ "$fail" = 0 ]; then echo "layering: core, ui and app include only downwards"; fi
exit "$fail"
