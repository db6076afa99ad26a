#!/usr/bin/env bash
# CI's aarch64 step: scripts/test-aarch64.sh cross-builds the C++ tests and the `_C` extension,
# runs the C++ tests under qemu-aarch64 as a Pi 4 (Cortex-A72) and a Pi 5 (Cortex-A76), the
# numpy-only Python op tests in an aarch64 CPython 3.11 (Debian arm64 packages, cached in
# ~/.cache/spiralkit-aarch64) as both, and the .spk artifacts compiled here there.
# Correctness only: never take timings under qemu. Usage: .ci/aarch64_tests.sh [build-dir]
# (the active python must be 3.11 with pybind11 and the x86 spiralkit installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python} exec scripts/test-aarch64.sh "${1:-build/ci-aarch64}"
