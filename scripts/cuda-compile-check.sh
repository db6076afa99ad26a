#!/usr/bin/env bash
# Compiles every CUDA source (kernels/cuda/*.cu, src/cuda/*.cu) for each GPU architecture, as the
# GPU-less CI check that the CUDA code builds everywhere it is meant to run. Needs nvcc only: no GPU,
# no CMake, no Python. For the tensor-core kernels it also checks, in the PTX nvcc kept, that the mma
# instruction is really emitted for that architecture (not compiled out by an architecture guard).
#
#   scripts/cuda-compile-check.sh                 # the default architectures this nvcc supports
#   CUDA_ARCHS="80 87" scripts/cuda-compile-check.sh
#   JOBS=2 NVCC=/usr/local/cuda/bin/nvcc scripts/cuda-compile-check.sh
#
# Warnings are errors. Exit status 0 when every (source, architecture) pair compiled and checked.
set -euo pipefail

cd "$(dirname "$0")/.."
NVCC=${NVCC:-nvcc}
JOBS=${JOBS:-$(nproc)}
command -v "$NVCC" >/dev/null || { echo "cuda-compile-check: nvcc not found (set NVCC)" >&2; exit 2; }

version=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
supported=$("$NVCC" --list-gpu-arch 2>/dev/null | sed -n 's/^compute_\([0-9]*\)$/\1/p' | tr '\n' ' ')
if [[ -z "${CUDA_ARCHS:-}" ]]; then
  # The default of cmake/cuda.cmake, limited to what this nvcc can target.
  CUDA_ARCHS=""
  for a in 80 86 87 89 90 100 120; do
    [[ " $supported " == *" $a "* ]] && CUDA_ARCHS+="$a "
  done
fi
CUDA_ARCHS=$(echo $CUDA_ARCHS)  # one space between, none trailing
sources=(kernels/cuda/*.cu src/cuda/*.cu)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "cuda-compile-check: nvcc $version, architectures: $CUDA_ARCHS, ${#sources[@]} sources, $JOBS jobs"

# One nvcc run per source for every architecture (the host side is compiled once), keeping the PTX.
compile() {  # source
  local src=$1 dir gencode="" arch want
  dir="$out/$(basename "$src" .cu)"
  mkdir -p "$dir"
  for arch in $CUDA_ARCHS; do gencode+=" -gencode arch=compute_$arch,code=sm_$arch"; done
  # shellcheck disable=SC2086
  if ! "$NVCC" -std=c++17 -c $gencode -Werror all-warnings -Xcompiler=-Wall,-Wextra \
      -I. -Isrc -Ikernels/include -Ikernels/cuda --keep --keep-dir "$dir" "$src" -o "$dir/out.o" \
      >"$dir/log" 2>&1; then
    echo "FAIL $src"; cat "$dir/log"; return 1
  fi
  # Tensor-core kernels (sm_80+): the instruction must be in each architecture's PTX.
  case "$src" in
    *-mmasp.cu) want="mma.sp" ;;
    *-mma.cu) want="mma.sync.aligned.m16n8k16" ;;
    *) want="" ;;
  esac
  for arch in $CUDA_ARCHS; do
    if [[ -n "$want" ]] && (( arch >= 80 )) && ! grep -q "$want" "$dir"/*.compute_"$arch".ptx; then
      echo "FAIL sm_$arch $src: no $want in the PTX (compiled out?)"; return 1
    fi
  done
  echo "ok   $src (sm_${CUDA_ARCHS// /, sm_})"
}
export -f compile
export NVCC out CUDA_ARCHS

start=$(date +%s)
status=0
printf '%s\n' "${sources[@]}" | xargs -P "$JOBS" -n 1 bash -c 'compile "$0"' || status=1
echo "cuda-compile-check: $(( $(date +%s) - start )) s, $([[ $status == 0 ]] && echo passed || echo FAILED)"
exit $status
