#!/usr/bin/env bash
# Installs every dependency DetSlim needs from Debian's registry, then configures and builds
# (Ninja, Release with debug info) into ./build. Safe to re-run: apt and CMake skip what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang
  qt6-base-dev qt6-base-dev-tools qt6-charts-dev libqt6opengl6-dev qt6-svg-dev libqt6svg6 qt6-qpa-plugins
  libgl-dev libxkbcommon-dev fonts-dejavu-core xvfb xauth
  libopencv-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libsqlite3-dev sqlite3
  libdnnl-dev ocl-icd-opencl-dev  # oneDNN's CMake config finds OpenCL even for CPU builds
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev jq
  python3-opencv python3-numpy python3-onnx  # tools/reference: the independent mAP pipeline

)

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# ONNX Runtime (CPU) from the npm registry, the peer `detslim bench --vs ort` measures against.
# --ignore-scripts: its install script downloads GPU binaries from elsewhere and fails here; the
# bundled CPU library works. Optional: DetSlim itself does not need it.
if command -v npm >/dev/null 2>&1; then
  if [ ! -f tools/peers/node_modules/onnxruntime-node/package.json ]; then
    echo "setup: installing onnxruntime-node into tools/peers (npm)"
    (cd tools/peers && npm install --ignore-scripts --no-audit --no-fund --loglevel=error) ||
      echo "setup: WARNING: npm install failed; detslim bench --vs ort will be unavailable"
  fi
else
  echo "setup: npm not found; detslim bench --vs ort will be unavailable"
fi

BUILD_DIR="${DETSLIM_BUILD_DIR:-build}"
BUILD_TYPE="${DETSLIM_BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DDETSLIM_BUILD_TESTS=ON -DDETSLIM_BUILD_FUZZ="${DETSLIM_BUILD_FUZZ:-ON}" ${DETSLIM_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
echo "setup: built into $BUILD_DIR"
