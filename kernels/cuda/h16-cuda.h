// fp16 / bf16 tensor-core kernels (rows of SPIRALKIT_CUDA_H16_KERNELS in cuda-kernel-list.h):
//   linear:  y[i, n] = act(sum_k x[i, k] * W[n, k] + bias[n]),        x: m x k, y: m x n, row-major
//   conv:    the same GEMM over the implicit im2col of an NCHW input (groups == 1): GEMM row
//            i = (b, oy, ox), GEMM column k = (c, ky, kx) as in torch's weight.reshape(N, -1); y NCHW
//   dwconv:  depthwise (groups == channels, one filter per channel), dense filters, NCHW
// Activations, weights, bias and outputs share the dtype; products accumulate in fp32, bias and
// activation are applied in fp32 before the one rounding to the output dtype.
// Weights arrive in the layouts of src/cuda/h16_pack.h. All pointers are device pointers; each
// launcher launches on `stream` and returns the launch's cudaError_t. Pure CUDA runtime.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda-kernel-list.h"

namespace spiralkit {
namespace cuda {

struct H16Args {
  int64_t m = 0, n = 0, k = 0;   // GEMM rows (tokens, or batch * out_h * out_w), outputs, reduction
  const uint16_t* x = nullptr;   // activations (bit patterns of the dtype)
  uint16_t* y = nullptr;
  const uint16_t* bias = nullptr;  // [n] or null
  int activation = 0;              // spiralkit::Activation code (activation.h)
  bool x_aligned = false;          // linear: x is 4-byte aligned and k is even (32-bit pair loads)

  // The weight (src/cuda/h16_pack.h): values in fragment order; meta for 2:4; row_ptr/col_idx for BSR.
  const uint16_t* values = nullptr;
  const uint32_t* meta = nullptr;
  const int32_t* row_ptr = nullptr;
  const int32_t* col_idx = nullptr;
  int64_t row_tiles = 0;  // 2:4: 16-row tiles; BSR: block rows
  int64_t k_steps = 0;    // 2:4: 32-column steps

  // Convolution geometry (NCHW input batch x c_in x h x w, output batch x n x out_h x out_w).
  int64_t batch = 0, c_in = 0, h = 0, w = 0, out_h = 0, out_w = 0;
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};

#define SPIRALKIT_CUDA_DECLARE_H16(fn, sm, dt, op, fmt, r, c) cudaError_t fn(const H16Args& a, cudaStream_t stream);
SPIRALKIT_CUDA_H16_KERNELS(SPIRALKIT_CUDA_DECLARE_H16)
#undef SPIRALKIT_CUDA_DECLARE_H16

}  // namespace cuda
}  // namespace spiralkit
