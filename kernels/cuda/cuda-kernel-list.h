// The CUDA kernel tables, the CUDA twin of kernels/include/spiralkit_kernels/kernel-list.h.
// One row per kernel: X(function, min_sm, dtype, op, format, block_rows, block_cols).
//   min_sm     lowest compute capability (major * 10 + minor) the kernel runs on; 0 = any
//   dtype      kF32 | kF16 | kBF16 (activations, weights and outputs; accumulation is always fp32)
//   op         kLinear (y[m, n] = x[m, :] . W[n, :]) | kConv (implicit GEMM, NCHW) | kDwConv (depthwise)
//   format     the packed layout the kernel reads (src/cuda/formats.h)
//   block_*    the weight tile the format stores (0 = any N:M / block height the kernel accepts)
// Best rows first: src/cuda/kernel_choice.cc takes the first row of a family that fits the weight
// and the device. Plain macros, no CUDA types: the CPU-side planner and its tests expand the same
// rows as the launch table (src/cuda/launch_table.cu) and the prototypes (f32-spmm-cuda.h, h16-cuda.h).
#pragma once

// fp32 on CUDA cores (any architecture this toolkit targets).
#define SPIRALKIT_CUDA_F32_LINEAR_KERNELS(X)                                            \
  X(spiralkit_f32_spmm_ukernel_gemm__cuda, 0, kF32, kLinear, kDense, 64, 64)            \
  X(spiralkit_f32_spmm_ukernel_dense__cuda, 0, kF32, kLinear, kDense, 1, 1)             \
  X(spiralkit_f32_spmm_ukernel_bsr16x16__cuda, 0, kF32, kLinear, kBsr, 16, 16)          \
  X(spiralkit_f32_spmm_ukernel_bsr__cuda, 0, kF32, kLinear, kBsr, 8, 1)                 \
  X(spiralkit_f32_spmm_ukernel_bsr__cuda, 0, kF32, kLinear, kBsr, 4, 1)                 \
  X(spiralkit_f32_spmm_ukernel_nm__cuda, 0, kF32, kLinear, kNm, 0, 0)                   \
  X(spiralkit_f32_spmm_ukernel_csr__cuda, 0, kF32, kLinear, kCsr, 1, 1)

// fp16 / bf16 on tensor cores (fp32 accumulate, fused bias + activation). 2:4 runs mma.sp
// (m16n8k32), BSR runs mma.sync (m16n8k16); both need sm_80.
#define SPIRALKIT_CUDA_H16_KERNELS(X)                                                   \
  X(spiralkit_f16_spmm_ukernel_nm24__mmasp, 80, kF16, kLinear, kNm24, 16, 32)           \
  X(spiralkit_bf16_spmm_ukernel_nm24__mmasp, 80, kBF16, kLinear, kNm24, 16, 32)         \
  X(spiralkit_f16_spmm_ukernel_bsr32__mma, 80, kF16, kLinear, kBsr32, 32, 32)           \
  X(spiralkit_bf16_spmm_ukernel_bsr32__mma, 80, kBF16, kLinear, kBsr32, 32, 32)         \
  X(spiralkit_f16_spmm_ukernel_bsr16__mma, 80, kF16, kLinear, kBsr16, 16, 16)           \
  X(spiralkit_bf16_spmm_ukernel_bsr16__mma, 80, kBF16, kLinear, kBsr16, 16, 16)         \
  X(spiralkit_f16_sconv_ukernel_nm24__mmasp, 80, kF16, kConv, kNm24, 16, 32)            \
  X(spiralkit_bf16_sconv_ukernel_nm24__mmasp, 80, kBF16, kConv, kNm24, 16, 32)          \
  X(spiralkit_f16_sconv_ukernel_bsr32__mma, 80, kF16, kConv, kBsr32, 32, 32)            \
  X(spiralkit_bf16_sconv_ukernel_bsr32__mma, 80, kBF16, kConv, kBsr32, 32, 32)          \
  X(spiralkit_f16_sconv_ukernel_bsr16__mma, 80, kF16, kConv, kBsr16, 16, 16)            \
  X(spiralkit_bf16_sconv_ukernel_bsr16__mma, 80, kBF16, kConv, kBsr16, 16, 16)          \
  X(spiralkit_f16_dwconv_ukernel__cuda, 80, kF16, kDwConv, kDenseH16, 1, 1)             \
  X(spiralkit_bf16_dwconv_ukernel__cuda, 80, kBF16, kDwConv, kDenseH16, 1, 1)
