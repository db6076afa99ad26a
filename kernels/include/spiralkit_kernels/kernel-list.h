// The kernel tables. One row per kernel: X(function, ISA, block rows R, M tile). Best rows first:
// dispatch takes the first row of a family whose ISA is allowed and whose R fits. Prototypes,
// the registry (src/config/kernel_registry.cc), the tests and the benchmarks all expand these.
#pragma once

#include "spiralkit_kernels/f16.h"
#include "spiralkit_kernels/panels.h"
#include "spiralkit_kernels/unary.h"

// Architecture rows: SPIRALKIT_ARCH_<FAMILY>(X) lists the x86 rows (AVX-512, AVX2) on x86 and
// the NEON rows on AArch64; the portable rows below end every table on every CPU.
#if defined(SPIRALKIT_ARCH_x86)
#define SPIRALKIT_ARCH_SPMM(X)                                  \
  X(spiralkit_f32_spmm_ukernel_8x1__avx512, kAvx512, 8, 48)     \
  X(spiralkit_f32_spmm_ukernel_4x1__avx512, kAvx512, 4, 96)     \
  X(spiralkit_f32_spmm_ukernel_2x1__avx512, kAvx512, 2, 128)    \
  X(spiralkit_f32_spmm_ukernel_1x1__avx512, kAvx512, 1, 128)    \
  X(spiralkit_f32_spmm_ukernel_8x1__avx2, kAvx2, 8, 24)         \
  X(spiralkit_f32_spmm_ukernel_4x1__avx2, kAvx2, 4, 24)         \
  X(spiralkit_f32_spmm_ukernel_2x1__avx2, kAvx2, 2, 32)         \
  X(spiralkit_f32_spmm_ukernel_1x1__avx2, kAvx2, 1, 64)
#define SPIRALKIT_ARCH_SPMV(X)                                  \
  X(spiralkit_f32_spmv_ukernel_8x1__avx512, kAvx512, 8, 1)      \
  X(spiralkit_f32_spmv_ukernel_4x1__avx512, kAvx512, 4, 1)      \
  X(spiralkit_f32_spmv_ukernel_1x1__avx512, kAvx512, 1, 1)      \
  X(spiralkit_f32_spmv_ukernel_8x1__avx2, kAvx2, 8, 1)          \
  X(spiralkit_f32_spmv_ukernel_4x1__avx2, kAvx2, 4, 1)          \
  X(spiralkit_f32_spmv_ukernel_1x1__avx2, kAvx2, 1, 1)
#define SPIRALKIT_ARCH_TRANSPOSE(X) X(spiralkit_f32_transpose_ukernel__avx512, kAvx512, 8, 8) \
  X(spiralkit_f32_transpose_ukernel__avx2, kAvx2, 8, 8)
#define SPIRALKIT_ARCH_DWCONV(X) X(spiralkit_f32_dwconv_ukernel__avx512, kAvx512, 1, 16) \
  X(spiralkit_f32_dwconv_ukernel__avx2, kAvx2, 1, 8)
#define SPIRALKIT_ARCH_GEMV(X) X(spiralkit_f32_gemv_ukernel__avx512, kAvx512, 4, 16) \
  X(spiralkit_f32_gemv_ukernel__avx2, kAvx2, 4, 8)
#define SPIRALKIT_ARCH_GEMM(X) X(spiralkit_f32_gemm_ukernel_4x4v__avx512, kAvx512, 4, 64) \
  X(spiralkit_f32_gemm_ukernel_6x2v__avx2, kAvx2, 6, 16)
#define SPIRALKIT_ARCH_VUNARY(X) X(spiralkit_f32_vunary_ukernel__avx512, kAvx512, 1, 16) \
  X(spiralkit_f32_vunary_ukernel__avx2, kAvx2, 1, 8)
#define SPIRALKIT_ARCH_SOFTMAX(X) X(spiralkit_f32_softmax_ukernel__avx512, kAvx512, 1, 16) \
  X(spiralkit_f32_softmax_ukernel__avx2, kAvx2, 1, 8)
#define SPIRALKIT_ARCH_WINOGRAD(X) X(spiralkit_f32_winograd_ukernel_4x4__avx512, kAvx512, 4, 16) \
  X(spiralkit_f32_winograd_ukernel_4x4__avx2, kAvx2, 4, 16)
#elif defined(SPIRALKIT_ARCH_arm64)
// NEON (4 fp32 lanes, 32 registers): register tiles sized to stay under 32 live vectors.
#define SPIRALKIT_ARCH_SPMM(X)                                  \
  X(spiralkit_f32_spmm_ukernel_8x1__neon, kNeon, 8, 12)         \
  X(spiralkit_f32_spmm_ukernel_4x1__neon, kNeon, 4, 24)         \
  X(spiralkit_f32_spmm_ukernel_2x1__neon, kNeon, 2, 32)         \
  X(spiralkit_f32_spmm_ukernel_1x1__neon, kNeon, 1, 32)
#define SPIRALKIT_ARCH_SPMV(X)                                  \
  X(spiralkit_f32_spmv_ukernel_8x1__neon, kNeon, 8, 1)          \
  X(spiralkit_f32_spmv_ukernel_4x1__neon, kNeon, 4, 1)          \
  X(spiralkit_f32_spmv_ukernel_1x1__neon, kNeon, 1, 1)
#define SPIRALKIT_ARCH_TRANSPOSE(X) X(spiralkit_f32_transpose_ukernel__neon, kNeon, 4, 4)
#define SPIRALKIT_ARCH_DWCONV(X) X(spiralkit_f32_dwconv_ukernel__neon, kNeon, 1, 4)
#define SPIRALKIT_ARCH_GEMV(X) X(spiralkit_f32_gemv_ukernel__neon, kNeon, 4, 4)
#define SPIRALKIT_ARCH_GEMM(X) X(spiralkit_f32_gemm_ukernel_4x4v__neon, kNeon, 4, 16)
#define SPIRALKIT_ARCH_VUNARY(X) X(spiralkit_f32_vunary_ukernel__neon, kNeon, 1, 4)
#define SPIRALKIT_ARCH_SOFTMAX(X) X(spiralkit_f32_softmax_ukernel__neon, kNeon, 1, 4)
#define SPIRALKIT_ARCH_WINOGRAD(X) X(spiralkit_f32_winograd_ukernel_4x4__neon, kNeon, 4, 16)
#else
#define SPIRALKIT_ARCH_SPMM(X)
#define SPIRALKIT_ARCH_SPMV(X)
#define SPIRALKIT_ARCH_TRANSPOSE(X)
#define SPIRALKIT_ARCH_DWCONV(X)
#define SPIRALKIT_ARCH_GEMV(X)
#define SPIRALKIT_ARCH_GEMM(X)
#define SPIRALKIT_ARCH_VUNARY(X)
#define SPIRALKIT_ARCH_SOFTMAX(X)
#define SPIRALKIT_ARCH_WINOGRAD(X)
#endif

// Portable rows (plain C++, any CPU): the fallbacks every table ends with.
#define SPIRALKIT_F32_SPMM_KERNELS(X) SPIRALKIT_ARCH_SPMM(X)     \
  X(spiralkit_f32_spmm_ukernel_8x1__scalar, kScalar, 8, 4)      \
  X(spiralkit_f32_spmm_ukernel_4x1__scalar, kScalar, 4, 4)      \
  X(spiralkit_f32_spmm_ukernel_2x1__scalar, kScalar, 2, 4)      \
  X(spiralkit_f32_spmm_ukernel_1x1__scalar, kScalar, 1, 8)
#define SPIRALKIT_F32_SPMV_KERNELS(X) SPIRALKIT_ARCH_SPMV(X)     \
  X(spiralkit_f32_spmv_ukernel_8x1__scalar, kScalar, 8, 1)      \
  X(spiralkit_f32_spmv_ukernel_4x1__scalar, kScalar, 4, 1)      \
  X(spiralkit_f32_spmv_ukernel_1x1__scalar, kScalar, 1, 1)
#define SPIRALKIT_F32_TRANSPOSE_KERNELS(X) SPIRALKIT_ARCH_TRANSPOSE(X) \
  X(spiralkit_f32_transpose_ukernel__scalar, kScalar, 8, 8)
#define SPIRALKIT_F32_DWCONV_KERNELS(X) SPIRALKIT_ARCH_DWCONV(X) \
  X(spiralkit_f32_dwconv_ukernel__scalar, kScalar, 1, 1)
#define SPIRALKIT_F32_GEMV_KERNELS(X) SPIRALKIT_ARCH_GEMV(X) \
  X(spiralkit_f32_gemv_ukernel__scalar, kScalar, 4, 1)
// Dense activation x activation GEMM (row-major a, b, c); R = tile rows, tile = columns.
#define SPIRALKIT_F32_GEMM_KERNELS(X) SPIRALKIT_ARCH_GEMM(X) \
  X(spiralkit_f32_gemm_ukernel_4x4v__scalar, kScalar, 4, 4)
// Elementwise activations / math (spiralkit_kernels/unary.h codes).
#define SPIRALKIT_F32_VUNARY_KERNELS(X) SPIRALKIT_ARCH_VUNARY(X) \
  X(spiralkit_f32_vunary_ukernel__scalar, kScalar, 1, 4)
// One fused softmax row: y = softmax(x * scale + mask).
#define SPIRALKIT_F32_SOFTMAX_KERNELS(X) SPIRALKIT_ARCH_SOFTMAX(X) \
  X(spiralkit_f32_softmax_ukernel__scalar, kScalar, 1, 4)
// Winograd F(4x4, 3x3) band of a dense 3x3 stride-1 convolution; R = output tile side, tile =
// channels per transform step.
#define SPIRALKIT_F32_WINOGRAD_KERNELS(X) SPIRALKIT_ARCH_WINOGRAD(X) \
  X(spiralkit_f32_winograd_ukernel_4x4__scalar, kScalar, 4, 16)

// fp16 sparse K x M kernels (opt-in float16 weights; FEAT_FP16 only, so no portable row: without
// the hardware the float16 pack is refused). tile = M columns per register tile.
#if defined(SPIRALKIT_ARCH_arm64)
#define SPIRALKIT_F16_SPMM_KERNELS(X)                                \
  X(spiralkit_f16_spmm_ukernel_8x1__neonfp16, kNeonFp16, 8, 24)      \
  X(spiralkit_f16_spmm_ukernel_4x1__neonfp16, kNeonFp16, 4, 48)      \
  X(spiralkit_f16_spmm_ukernel_2x1__neonfp16, kNeonFp16, 2, 64)      \
  X(spiralkit_f16_spmm_ukernel_1x1__neonfp16, kNeonFp16, 1, 64)
#else
#define SPIRALKIT_F16_SPMM_KERNELS(X)
#endif

// Compile-time facts of every row (spiralkit_rows::<fn>::kR / kTile): each kernel file checks
// its template's tile against its row with SPIRALKIT_CHECK_ROW, so a row cannot drift from its code.
#define SPIRALKIT_ROW_FACTS(fn, isa, r, tile) \
  struct fn {                                 \
    static constexpr int kR = r, kTile = tile; \
  };
#define SPIRALKIT_ALL_F32_KERNELS(X)                                                                      \
  SPIRALKIT_F32_SPMM_KERNELS(X) SPIRALKIT_F32_SPMV_KERNELS(X) SPIRALKIT_F32_TRANSPOSE_KERNELS(X)          \
  SPIRALKIT_F32_DWCONV_KERNELS(X) SPIRALKIT_F32_GEMV_KERNELS(X) SPIRALKIT_F32_GEMM_KERNELS(X)            \
  SPIRALKIT_F32_VUNARY_KERNELS(X) SPIRALKIT_F32_SOFTMAX_KERNELS(X) SPIRALKIT_F32_WINOGRAD_KERNELS(X)
namespace spiralkit_rows {
SPIRALKIT_ALL_F32_KERNELS(SPIRALKIT_ROW_FACTS)
SPIRALKIT_F16_SPMM_KERNELS(SPIRALKIT_ROW_FACTS)
}  // namespace spiralkit_rows
#define SPIRALKIT_CHECK_ROW(fn, r, tile)                                                  \
  static_assert(spiralkit_rows::fn::kR == (r) && spiralkit_rows::fn::kTile == (tile), \
                #fn ": its kernel-list.h row (R, tile) disagrees with the template it instantiates")

namespace spiralkit {
#define SPIRALKIT_DECLARE_SPMM(fn, isa, r, tile) void fn(const PanelView&, int64_t, int64_t, const XtArgs&);
#define SPIRALKIT_DECLARE_SPMV(fn, isa, r, tile) \
  void fn(const PanelView&, int64_t, int64_t, const float*, float*, const float*, Activation);
#define SPIRALKIT_DECLARE_TRANSPOSE(fn, isa, r, tile) \
  void fn(const float*, int64_t, int64_t, int64_t, float*, int64_t);
#define SPIRALKIT_DECLARE_DWCONV(fn, isa, r, tile) void fn(const DwArgs&);
#define SPIRALKIT_DECLARE_GEMV(fn, isa, r, tile) \
  void fn(const float*, int64_t, int64_t, int64_t, const float*, float*, const float*, Activation);
SPIRALKIT_F32_SPMM_KERNELS(SPIRALKIT_DECLARE_SPMM)
SPIRALKIT_F32_SPMV_KERNELS(SPIRALKIT_DECLARE_SPMV)
SPIRALKIT_F32_TRANSPOSE_KERNELS(SPIRALKIT_DECLARE_TRANSPOSE)
SPIRALKIT_F32_DWCONV_KERNELS(SPIRALKIT_DECLARE_DWCONV)
SPIRALKIT_F32_GEMV_KERNELS(SPIRALKIT_DECLARE_GEMV)
#define SPIRALKIT_DECLARE_GEMM(fn, isa, r, tile) \
  void fn(int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t);
#define SPIRALKIT_DECLARE_VUNARY(fn, isa, r, tile) void fn(int, const float*, float*, int64_t, float, float);
SPIRALKIT_F32_GEMM_KERNELS(SPIRALKIT_DECLARE_GEMM)
SPIRALKIT_F32_VUNARY_KERNELS(SPIRALKIT_DECLARE_VUNARY)
#define SPIRALKIT_DECLARE_SOFTMAX(fn, isa, r, tile) \
  void fn(const float*, float*, int64_t, float, const float*, int64_t);
SPIRALKIT_F32_SOFTMAX_KERNELS(SPIRALKIT_DECLARE_SOFTMAX)
#define SPIRALKIT_DECLARE_WINOGRAD(fn, isa, r, tile) void fn(const WinogradArgs&);
SPIRALKIT_F32_WINOGRAD_KERNELS(SPIRALKIT_DECLARE_WINOGRAD)
#define SPIRALKIT_DECLARE_F16_SPMM(fn, isa, r, tile) \
  void fn(const PanelView&, const uint16_t*, int64_t, int64_t, const XtArgsF16&);
SPIRALKIT_F16_SPMM_KERNELS(SPIRALKIT_DECLARE_F16_SPMM)

// im2col of a pixel tile into the K x M layout (scalar: it is copies, memcpy does the work).
struct ConvShape;
void spiralkit_f32_im2col_ukernel__scalar(const float* x_image_group, const ConvShape& s, int64_t p_begin,
                                          int64_t p_end, float* col, int64_t ldc);
}  // namespace spiralkit
#include "spiralkit_kernels/kernel-list-i8.h"  // the int8 (qs8) families
