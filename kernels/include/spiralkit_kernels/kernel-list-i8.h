// The int8 kernel tables (qs8: int8 weights x uint8 activations, spiralkit_kernels/qs8.h). One row
// per kernel: X(function, ISA, block rows R, M tile). Best rows first: dispatch takes the first
// row of a family whose ISA is allowed and whose R fits. Prototypes, the registry
// (src/config/kernel_registry_i8.cc), the tests and the benchmarks all expand these.
#pragma once

#include "spiralkit_kernels/qs8.h"

#if defined(SPIRALKIT_ARCH_x86)
#define SPIRALKIT_X86_QS8_SPMM(X)                                   \
  X(spiralkit_qs8_spmm_ukernel_1x4__avx512vnni, kAvx512Vnni, 1, 128) \
  X(spiralkit_qs8_spmm_ukernel_4x4__avx512vnni, kAvx512Vnni, 4, 64)  \
  X(spiralkit_qs8_spmm_ukernel_1x4__avxvnni, kAvxVnni, 1, 64)        \
  X(spiralkit_qs8_spmm_ukernel_4x4__avxvnni, kAvxVnni, 4, 16)        \
  X(spiralkit_qs8_spmm_ukernel_1x4__avx2, kAvx2, 1, 64)              \
  X(spiralkit_qs8_spmm_ukernel_4x4__avx2, kAvx2, 4, 16)
#define SPIRALKIT_X86_QS8_GEMM(X)                                   \
  X(spiralkit_qs8_gemm_ukernel_4x4__avx512vnni, kAvx512Vnni, 4, 64)  \
  X(spiralkit_qs8_gemm_ukernel_4x4__avxvnni, kAvxVnni, 4, 16)        \
  X(spiralkit_qs8_gemm_ukernel_4x4__avx2, kAvx2, 4, 16)
#define SPIRALKIT_X86_QS8_SPMV(X)                                   \
  X(spiralkit_qs8_spmv_ukernel_1x4__avx512vnni, kAvx512Vnni, 1, 1)   \
  X(spiralkit_qs8_spmv_ukernel_1x4__avxvnni, kAvxVnni, 1, 1)         \
  X(spiralkit_qs8_spmv_ukernel_1x4__avx2, kAvx2, 1, 1)
#define SPIRALKIT_X86_QS8_GEMV(X)                                   \
  X(spiralkit_qs8_gemv_ukernel_4x4__avx512vnni, kAvx512Vnni, 4, 1)   \
  X(spiralkit_qs8_gemv_ukernel_4x4__avxvnni, kAvxVnni, 4, 1)         \
  X(spiralkit_qs8_gemv_ukernel_4x4__avx2, kAvx2, 4, 1)
#define SPIRALKIT_X86_QU8_VQUANT(X)                                 \
  X(spiralkit_qu8_vquant_ukernel__avx512, kAvx512, 1, 16)            \
  X(spiralkit_qu8_vquant_ukernel__avx2, kAvx2, 1, 8)
#define SPIRALKIT_X86_QS8_DWCONV(X)                                 \
  X(spiralkit_qs8_dwconv_ukernel__avx512vnni, kAvx512Vnni, 1, 16)    \
  X(spiralkit_qs8_dwconv_ukernel__avx512, kAvx512, 1, 16)            \
  X(spiralkit_qs8_dwconv_ukernel__avx2, kAvx2, 1, 8)
#else
#define SPIRALKIT_X86_QS8_SPMM(X)
#define SPIRALKIT_X86_QS8_GEMM(X)
#define SPIRALKIT_X86_QS8_SPMV(X)
#define SPIRALKIT_X86_QS8_GEMV(X)
#define SPIRALKIT_X86_QU8_VQUANT(X)
#define SPIRALKIT_X86_QS8_DWCONV(X)
#endif

#if defined(SPIRALKIT_ARCH_arm64)
#define SPIRALKIT_ARM_QS8_SPMM(X)                                  \
  X(spiralkit_qs8_spmm_ukernel_1x4__neondot, kNeonDot, 1, 32)       \
  X(spiralkit_qs8_spmm_ukernel_4x4__neondot, kNeonDot, 4, 16)
#define SPIRALKIT_ARM_QS8_GEMM(X) X(spiralkit_qs8_gemm_ukernel_4x4__neondot, kNeonDot, 4, 16)
#define SPIRALKIT_ARM_QS8_SPMV(X) X(spiralkit_qs8_spmv_ukernel_1x4__neondot, kNeonDot, 1, 1)
#define SPIRALKIT_ARM_QS8_GEMV(X) X(spiralkit_qs8_gemv_ukernel_4x4__neondot, kNeonDot, 4, 1)
#define SPIRALKIT_ARM_QU8_VQUANT(X) X(spiralkit_qu8_vquant_ukernel__neon, kNeon, 1, 4)
#define SPIRALKIT_ARM_QS8_DWCONV(X) X(spiralkit_qs8_dwconv_ukernel__neon, kNeon, 1, 4)
#else
#define SPIRALKIT_ARM_QS8_SPMM(X)
#define SPIRALKIT_ARM_QS8_GEMM(X)
#define SPIRALKIT_ARM_QS8_SPMV(X)
#define SPIRALKIT_ARM_QS8_GEMV(X)
#define SPIRALKIT_ARM_QU8_VQUANT(X)
#define SPIRALKIT_ARM_QS8_DWCONV(X)
#endif

// Sparse K x M products over 1x4 (R = 1) or 4x4 (R = 4) blocks.
#define SPIRALKIT_QS8_SPMM_KERNELS(X) SPIRALKIT_X86_QS8_SPMM(X) SPIRALKIT_ARM_QS8_SPMM(X) \
  X(spiralkit_qs8_spmm_ukernel_1x4__scalar, kScalar, 1, 1)                                  \
  X(spiralkit_qs8_spmm_ukernel_4x4__scalar, kScalar, 4, 1)
// The dense fallback: 4-row panels holding every K group.
#define SPIRALKIT_QS8_GEMM_KERNELS(X) SPIRALKIT_X86_QS8_GEMM(X) SPIRALKIT_ARM_QS8_GEMM(X) \
  X(spiralkit_qs8_gemm_ukernel_4x4__scalar, kScalar, 4, 1)
// One activation row over 1x4 panels.
#define SPIRALKIT_QS8_SPMV_KERNELS(X) SPIRALKIT_X86_QS8_SPMV(X) SPIRALKIT_ARM_QS8_SPMV(X) \
  X(spiralkit_qs8_spmv_ukernel_1x4__scalar, kScalar, 1, 1)
// One activation row over dense 4-row panels.
#define SPIRALKIT_QS8_GEMV_KERNELS(X) SPIRALKIT_X86_QS8_GEMV(X) SPIRALKIT_ARM_QS8_GEMV(X) \
  X(spiralkit_qs8_gemv_ukernel_4x4__scalar, kScalar, 4, 1)
// Depthwise convolution of one channel plane (the vector rows accumulate exactly in fp32).
#define SPIRALKIT_QS8_DWCONV_KERNELS(X) SPIRALKIT_X86_QS8_DWCONV(X) SPIRALKIT_ARM_QS8_DWCONV(X) \
  X(spiralkit_qs8_dwconv_ukernel__scalar, kScalar, 1, 1)
// fp32 -> uint8 quantization of the activations entering an int8 op.
#define SPIRALKIT_QU8_VQUANT_KERNELS(X) SPIRALKIT_X86_QU8_VQUANT(X) SPIRALKIT_ARM_QU8_VQUANT(X) \
  X(spiralkit_qu8_vquant_ukernel__scalar, kScalar, 1, 4)

namespace spiralkit {
#define SPIRALKIT_DECLARE_QS8_SPMM(fn, isa, r, tile) void fn(const QPanelView&, int64_t, int64_t, const QXtArgs&);
#define SPIRALKIT_DECLARE_QS8_GEMV(fn, isa, r, tile) void fn(const QPanelView&, int64_t, int64_t, const QGemvArgs&);
#define SPIRALKIT_DECLARE_QS8_DWCONV(fn, isa, r, tile) void fn(const QDwArgs&);
SPIRALKIT_QS8_SPMM_KERNELS(SPIRALKIT_DECLARE_QS8_SPMM)
SPIRALKIT_QS8_GEMM_KERNELS(SPIRALKIT_DECLARE_QS8_SPMM)
SPIRALKIT_QS8_SPMV_KERNELS(SPIRALKIT_DECLARE_QS8_GEMV)
SPIRALKIT_QS8_GEMV_KERNELS(SPIRALKIT_DECLARE_QS8_GEMV)
SPIRALKIT_QS8_DWCONV_KERNELS(SPIRALKIT_DECLARE_QS8_DWCONV)
#define SPIRALKIT_DECLARE_QU8_VQUANT(fn, isa, r, tile) void fn(const float*, int64_t, float, int32_t, uint8_t*);
SPIRALKIT_QU8_VQUANT_KERNELS(SPIRALKIT_DECLARE_QU8_VQUANT)
}  // namespace spiralkit
