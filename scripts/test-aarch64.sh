#!/usr/bin/env bash
# The aarch64 test run, on an x86 Linux machine, in one command:
#
#   scripts/test-aarch64.sh [BUILD_DIR]          (default build/aarch64)
#
# 1. cross-builds the C++ core, kernels, C++ tests and the `_C` Python extension for aarch64
#    (cmake/toolchains/aarch64-linux-gnu.cmake, Debian's g++-aarch64-linux-gnu);
# 2. runs the C++ tests under qemu-aarch64 as a Raspberry Pi 4 (QEMU_CPU=cortex-a72: NEON, no fp16
#    arithmetic, no dot product) and as a Pi 5 (cortex-a76: adds FEAT_FP16 and DotProd);
# 3. runs the numpy-only Python tests (pack round-trip, patterns, runtime, linear and conv2d against
#    a numpy reference, the committed .spk artifacts) as both CPUs, in an aarch64 CPython 3.11 with
#    numpy unpacked from Debian bookworm arm64 packages (what Raspberry Pi OS bookworm ships);
# 4. compiles small models to .spk here (x86, `spiralkit.compile`), runs them there with numpy
#    alone and compares the outputs (scripts/spk_crosscheck.py).
# Correctness only: timings under qemu mean nothing.
#
# Needs: g++-aarch64-linux-gnu, qemu-user, cmake, ninja, apt-get + dpkg-deb (Debian bookworm sources
# configured; no root needed: a private apt state downloads the arm64 packages), and a host
# Python 3.11 (`PYTHON`, default python3) with pybind11 and an importable x86 spiralkit (installed,
# or PYTHONPATH=python after a dev build); torch there adds freshly compiled artifacts to step 4.
#
# Environment: SPIRALKIT_AARCH64_CACHE  where the arm64 sysroot is kept (default ~/.cache/spiralkit-aarch64;
#                                        rebuilt when the package list below changes)
#              SPIRALKIT_AARCH64_STEPS  which steps to run, default "cpp python spk"
#              SPIRALKIT_AARCH64_WHEEL  an aarch64 wheel (scripts/build-wheels.sh): the Python steps
#                                       then test it instead of the dev build's module
#              JOBS                     build parallelism (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/aarch64}
cache=${SPIRALKIT_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spiralkit-aarch64}
steps=" ${SPIRALKIT_AARCH64_STEPS:-cpp python spk} "
jobs=${JOBS:-2}
python=${PYTHON:-python3}
cpus=(cortex-a72 cortex-a76)

die() { echo "test-aarch64: $*" >&2; exit 1; }
for tool in aarch64-linux-gnu-g++ qemu-aarch64 cmake ninja apt-get dpkg-deb "$python"; do
  command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install g++-aarch64-linux-gnu qemu-user cmake ninja-build)"
done
[ "$("$python" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ] ||
  die "PYTHON=$python is not Python 3.11 (the extension is built for the target's CPython 3.11 and FindPython checks the host one)"

# ---- 1. the arm64 sysroot (CPython 3.11, numpy, pytest, hypothesis, libstdc++, libgomp), cached
sysroot=$(PYTHON=$python scripts/aarch64-sysroot.sh "$cache") || die "could not make the arm64 sysroot"
guest_python=$sysroot/usr/bin/python3.11

# ---- 2. cross-build (C++ tests and the extension, in one tree), or the package from a wheel
ext=_C.cpython-311-aarch64-linux-gnu.so
stage=$build/python
mkdir -p "$stage/spiralkit"
if [[ $steps == *" cpp "* || -z "${SPIRALKIT_AARCH64_WHEEL:-}" ]]; then
  echo "== cross-build for aarch64 in $build"
  # The dev build links _C into python/spiralkit/; it is moved out below (and on any failure), so
  # no aarch64 module is ever left beside the host's in the source tree.
  trap '[ ! -e python/spiralkit/$ext ] || mv -f python/spiralkit/$ext "$stage/spiralkit/$ext"' EXIT
  pybind11_dir=$("$python" -m pybind11 --cmakedir) || die "pybind11 is not installed for $python"
  SPIRALKIT_AARCH64_PYTHON_ROOT=$sysroot cmake -S . -B "$build" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
    -DSPIRALKIT_BUILD_TESTS=ON -DSPIRALKIT_PYTHON=ON -DSPIRALKIT_CUDA=OFF \
    -DPython_EXECUTABLE="$(command -v "$python")" -Dpybind11_DIR="$pybind11_dir" >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; die "cmake configure failed"; }
  cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1 || { tail -50 "$build/build.log"; die "build failed"; }
fi
if [ -n "${SPIRALKIT_AARCH64_WHEEL:-}" ]; then
  # The Python steps test an installed wheel instead: unpacked as pip would lay it out.
  echo "== Python steps use the wheel $SPIRALKIT_AARCH64_WHEEL"
  stage=$build/wheel-python
  rm -rf "$stage"
  "$python" -m zipfile -e "$SPIRALKIT_AARCH64_WHEEL" "$stage" || die "cannot unpack $SPIRALKIT_AARCH64_WHEEL"
  [ -e "$stage/spiralkit/$ext" ] || die "$SPIRALKIT_AARCH64_WHEEL holds no spiralkit/$ext"
else
  # Stage the package: this checkout's Python sources with the aarch64 module.
  rm -rf "$stage/spiralkit"
  cp -r python/spiralkit "$stage/"
  find "$stage" -name '_C*.so' -exec rm -f {} +
  find "$stage" -name __pycache__ -prune -exec rm -rf {} +
  mv -f python/spiralkit/$ext "$stage/spiralkit/$ext"
fi

# Guest Python: the sysroot's interpreter under qemu, seeing the staged package and the tests' helpers.
guest() {  # guest CPU, then python arguments
  local cpu=$1; shift
  QEMU_CPU=$cpu PYTHONPATH="$stage:$root/tests/python" PYTHONNOUSERSITE=1 \
    qemu-aarch64 -L "$sysroot" "$guest_python" "$@"
}

# ---- 3. the C++ tests, as each CPU
if [[ $steps == *" cpp "* ]]; then
  for cpu in "${cpus[@]}"; do
    echo "== C++ tests under qemu-aarch64 as $cpu"
    QEMU_CPU=$cpu qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/tests/cpp/spiralkit_cpp_tests" --minimal
  done
fi

# ---- 4. the numpy-only Python tests, as each CPU
# Modules that need torch skip themselves (importorskip); the three runtime tests that start a
# second interpreter are left out (a qemu-user guest cannot exec an aarch64 binary without binfmt)
# and their checks are made directly below.
py_tests=(
  tests/python/test_sparse_weight.py
  tests/python/test_patterns.py
  tests/python/test_runtime.py
  tests/python/ops/test_numpy_reference.py
  tests/python/engine/test_artifact_files.py
)
no_subprocess="not test_import_needs_no_torch and not test_forced_isa and not test_cli_info"
if [[ $steps == *" python "* ]]; then
  for cpu in "${cpus[@]}"; do
    echo "== Python tests in aarch64 CPython 3.11 (numpy only) under qemu-aarch64 as $cpu"
    guest "$cpu" -m pytest -q -p no:cacheprovider -k "$no_subprocess" "${py_tests[@]}"
    guest "$cpu" -c "
import sys, spiralkit
info = spiralkit.info()
neon = sorted(f for f, row in info['kernels'].items() if 'neon' in row['isa'])
print('isa_active', info['isa_active'], '| families with a NEON row:', ', '.join(neon) or 'none')
assert 'torch' not in sys.modules, 'import spiralkit imported torch'"
    SPIRALKIT_ISA=scalar guest "$cpu" -c "
import spiralkit
info = spiralkit.info()
assert info['isa_active'] == 'scalar' and info['isa_forced'] == 'scalar', info"
    guest "$cpu" -m spiralkit.cli info >"$build/info-$cpu.txt"
    grep -q f32-spmm "$build/info-$cpu.txt" || { cat "$build/info-$cpu.txt"; die "'spiralkit info' lists no f32-spmm"; }
  done
fi

# ---- 5. artifacts compiled here, run there with numpy alone
if [[ $steps == *" spk "* ]]; then
  echo "== .spk artifacts: compiled on $(uname -m), run on aarch64 (numpy only)"
  spk=$build/spk
  rm -rf "$spk"
  "$python" scripts/spk_crosscheck.py make "$spk" ||
    die "the x86 side failed: is an x86 spiralkit importable by $python (pip install ., or PYTHONPATH=python)?"
  for cpu in "${cpus[@]}"; do
    echo "-- as $cpu"
    guest "$cpu" scripts/spk_crosscheck.py check "$spk"
  done
fi
echo "== aarch64: all requested steps passed (${steps# })"
