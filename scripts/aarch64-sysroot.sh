#!/usr/bin/env bash
# Makes (once) and prints the path of an arm64 sysroot holding what Raspberry Pi OS bookworm ships:
# CPython 3.11 with numpy, pytest and hypothesis, libstdc++ and libgomp, plus CPython's headers.
#
#   scripts/aarch64-sysroot.sh [CACHE_DIR]    (default $SPIRALKIT_AARCH64_CACHE or ~/.cache/spiralkit-aarch64)
#
# Used by scripts/test-aarch64.sh (runs the tests in it under qemu-aarch64) and
# scripts/build-wheels.sh (compiles the extension against its headers). The packages come from the
# host's configured Debian (bookworm) sources, read for arm64 into a private apt state, so the host's
# dpkg is untouched and no root is needed; the sysroot is rebuilt only when the list below changes.
# Progress goes to stderr; stdout is the sysroot path alone.
set -euo pipefail
cache=${1:-${SPIRALKIT_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spiralkit-aarch64}}
python=${PYTHON:-python3}
die() { echo "aarch64-sysroot: $*" >&2; exit 1; }

# Runtime packages come with their dependencies (apt resolves them against an empty dpkg status);
# libpython3.11-dev is taken alone, for its headers.
runtime_pkgs="python3.11 python3-numpy python3-pytest python3-hypothesis libstdc++6 libgomp1"
header_pkgs="libpython3.11-dev"
sysroot=$cache/sysroot
stamp="$runtime_pkgs | $header_pkgs | v1"
if [ "$(cat "$sysroot/.spiralkit-sysroot" 2>/dev/null)" = "$stamp" ]; then
  echo "$sysroot"
  exit 0
fi
for tool in apt-get dpkg-deb "$python"; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done
echo "== arm64 sysroot in $sysroot (Debian packages: $runtime_pkgs $header_pkgs)" >&2
apt_dir=$cache/apt
rm -rf "$sysroot" "$apt_dir/archives"
mkdir -p "$apt_dir"/{lists/partial,archives/partial,etc/apt.conf.d,etc/preferences.d} "$sysroot"
: > "$apt_dir/status"
cat > "$apt_dir/etc/apt.conf" <<EOF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Install-Recommends "false";
Dir::State "$apt_dir";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir";
Dir::Cache::archives "$apt_dir/archives";
Dir::Etc::Parts "$apt_dir/etc/apt.conf.d";
Dir::Etc::Preferences "$apt_dir/etc/preferences";
Dir::Etc::PreferencesParts "$apt_dir/etc/preferences.d";
EOF
# As root, apt would hand the download to its '_apt' user, who cannot write into this cache.
[ "$(id -u)" = 0 ] && echo 'APT::Sandbox::User "root";' >> "$apt_dir/etc/apt.conf"
export APT_CONFIG=$apt_dir/etc/apt.conf
apt-get update -qq >&2 || die "apt-get update (arm64 lists) failed"
# shellcheck disable=SC2086
apt-get install -qq -y --download-only $runtime_pkgs >/dev/null ||
  die "downloading $runtime_pkgs for arm64 failed (are Debian bookworm sources configured?)"
# shellcheck disable=SC2086
(cd "$apt_dir/archives" && apt-get download -qq $header_pkgs >&2) || die "downloading $header_pkgs failed"
unset APT_CONFIG
for deb in "$apt_dir"/archives/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done

multiarch=$sysroot/usr/lib/aarch64-linux-gnu
[ -x "$sysroot/usr/bin/python3.11" ] || die "no usr/bin/python3.11 in the unpacked packages"
# What update-alternatives would do on the board: numpy links libblas.so.3 / liblapack.so.3.
for lib in blas lapack; do
  real=$(ls "$multiarch"/"$lib"*/lib"$lib".so.3 2>/dev/null | head -1 || true)
  [ -n "$real" ] || die "no lib$lib.so.3 among the downloaded packages"
  ln -sf "${real#"$multiarch"/}" "$multiarch/lib$lib.so.3"
done
# Debian's usr/include/python3.11/pyconfig.h dispatches on the target macro to the multiarch copy;
# put the aarch64 one in its place so the include dir stands alone.
cp "$sysroot/usr/include/aarch64-linux-gnu/python3.11/pyconfig.h" "$sysroot/usr/include/python3.11/pyconfig.h"
# Byte-compile once here with the host's 3.11 (pyc files are portable within a minor version):
# imports under qemu then skip the compiler, and the guest never writes into the sysroot.
if [ "$("$python" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ]; then
  "$python" -m compileall -q -j 2 "$sysroot/usr/lib/python3.11" "$sysroot/usr/lib/python3/dist-packages" >/dev/null || true
fi
echo "$stamp" > "$sysroot/.spiralkit-sysroot"
echo "$sysroot"
