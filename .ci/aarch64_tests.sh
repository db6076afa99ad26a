#!/usr/bin/env bash
# Cross-builds the C++ tests for aarch64 and runs them under qemu-aarch64 as a Pi 4 (Cortex-A72)
# and a Pi 5 (Cortex-A76). Correctness only: never take timings under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/ci-aarch64}
cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  -DSPIRALKIT_BUILD_TESTS=ON -DSPIRALKIT_PYTHON=OFF -DSPIRALKIT_CUDA=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null
for cpu in cortex-a72 cortex-a76; do
  echo "-- qemu-aarch64 as $cpu"
  QEMU_CPU=$cpu qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/tests/cpp/spiralkit_cpp_tests" --minimal
done
