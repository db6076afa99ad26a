// f32 sparse-weight x dense-activation products on NVIDIA GPUs:
//   y[i, n] = act(sum_k x[i, k] * W[n, k] + bias[n]),  x: M x K row-major, y: M x N row-major.
// One kernel per file (kernels/cuda/f32-spmm-<format>-cuda.cu); each file exports one host launcher
// that picks the tile size, launches on the caller's stream and returns the launch's cudaError_t.
// All pointers are device pointers. Pure CUDA runtime: no Python, no torch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda-kernel-list.h"

namespace spiralkit {
namespace cuda {

struct SpmmArgs {
  int64_t m = 0, n = 0, k = 0;  // activation rows, weight rows (outputs), reduction
  const float* x = nullptr;     // [m, k]
  float* y = nullptr;           // [m, n]
  const float* bias = nullptr;  // [n] or null
  int activation = 0;           // spiralkit::Activation code (activation.h)

  // The weight, in the layout of the kernel's format (packed once by src/cuda/device_weight.cu):
  //   dense: values[n * k]
  //   csr:   row_ptr[n + 1], col_idx[nnz], values[nnz]
  //   bsr:   R x C blocks (C == 1 for the Rx1 kernel, R == C == 16 for bsr16x16): row_ptr over
  //          block rows, col_idx = block column, values[nblocks * R * C] row-major in a block,
  //          edge blocks zero-padded
  //   nm:    values[n * groups * N], nm_offsets[same] (uint8 offset of each slot in its group)
  const float* values = nullptr;
  const int32_t* row_ptr = nullptr;
  const int32_t* col_idx = nullptr;
  const uint8_t* nm_offsets = nullptr;
  int block_rows = 1, block_cols = 1;
  int nm_n = 0, nm_m = 0;
  int64_t entries = 0;  // stored items the kernel loops over: n * k, nnz, blocks or n * groups

  // Device facts, read once per device by the caller.
  int num_sms = 1;
  int max_smem_per_block = 48 * 1024;  // opt-in limit (cudaDevAttrMaxSharedMemoryPerBlockOptin)
};

// One prototype per row of SPIRALKIT_CUDA_F32_LINEAR_KERNELS (the bsr kernel serves 4x1 and 8x1).
#define SPIRALKIT_CUDA_DECLARE_F32(fn, sm, dt, op, fmt, r, c) cudaError_t fn(const SpmmArgs& a, cudaStream_t stream);
SPIRALKIT_CUDA_F32_LINEAR_KERNELS(SPIRALKIT_CUDA_DECLARE_F32)
#undef SPIRALKIT_CUDA_DECLARE_F32

}  // namespace cuda
}  // namespace spiralkit
