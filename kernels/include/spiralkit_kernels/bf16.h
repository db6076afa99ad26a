// bfloat16 products for the activation x activation GEMMs of an int8 plan's attention (bf16-gemm
// and bf16-pack families; x86 AVX512_BF16 only, so no portable row: without the instruction the
// attention stays fp32). bf16 keeps fp32's exponent and 8 significant bits; two bf16 values
// multiply exactly in fp32, so the kernels' only extra error is the rounding of their inputs
// (2^-9 relative), well under the int8 steps of the layers around them.
#pragma once

#include <cstdint>
#include <cstring>

namespace spiralkit {

// Round to nearest even (what vcvtne2ps2bf16 does for normal numbers); NaN stays a quiet NaN.
inline uint16_t f32_to_bf16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float bf16_bits_to_f32(uint16_t h) {
  const uint32_t x = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// Operand layouts (all bf16 as uint16_t):
//   A (m x K): row-major, lda elements per row, K padded with zeros to an even count (kp pairs).
//   B (K x n): K pairs x ldb columns x 2, b[(p * ldb + j) * 2 + i] = B[2p + i][j]; ldb is a
//   multiple of 16 and the padding (j >= n, 2p + i >= K) is zero, so loads stay whole vectors.
// c[i * ldc + j] = row_scale[i] * sum_k A[i][k] B[k][j] for i < m, j < n (fp32, overwritten);
// row_scale may be null (1). Attention passes 1 / (its softmax row's sum) there.
using Bf16GemmFn = void (*)(int64_t m, int64_t n, int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b,
                            int64_t ldb, float* c, int64_t ldc, const float* row_scale);

// What a pack call builds from an fp32 matrix src (rows x cols, row stride lds):
enum class Bf16Pack : int {
  kRows = 0,         // A: dst[r * ldd + c] = src[r][c], columns cols..(cols rounded up to even) zero
  kPairsOfRows = 1,  // B = src (K = rows, n = cols): pairs of consecutive rows interleaved
  kPairsOfCols = 2,  // B = src^T (K = cols, n = rows): pairs of consecutive columns, one per row
};
// kPairsOf*: every p < ceil(K / 2), j < ldd is written (zeros in the padding); ldd % 16 == 0.
using Bf16PackFn = void (*)(int mode, const float* src, int64_t lds, int64_t rows, int64_t cols, uint16_t* dst,
                            int64_t ldd);

// One attention row, unnormalised, into A's layout: x[j] <- x[j] * scale + mask[j * mask_stride]
// (mask may be null), y[j] = bf16(exp(x[j] - max x)) for j < n and y[n] = 0 when n is odd;
// returns sum_j exp(x[j] - max x) in fp32, whose inverse the context GEMM applies per row.
using Bf16SoftmaxFn = float (*)(float* x, int64_t n, float scale, const float* mask, int64_t mask_stride,
                                uint16_t* y);

// The oracles (kernels/reference/bf16-gemm-reference.cc): the same layouts, products summed in
// double from the bf16 values, so a row's error against them is its fp32 accumulation alone.
void spiralkit_bf16_gemm_ukernel__reference(int64_t m, int64_t n, int64_t kp, const uint16_t* a, int64_t lda,
                                            const uint16_t* b, int64_t ldb, float* c, int64_t ldc,
                                            const float* row_scale);
float spiralkit_bf16_softmax_ukernel__reference(float* x, int64_t n, float scale, const float* mask,
                                                int64_t mask_stride, uint16_t* y);
void spiralkit_bf16_pack_ukernel__reference(int mode, const float* src, int64_t lds, int64_t rows, int64_t cols,
                                            uint16_t* dst, int64_t ldd);

}  // namespace spiralkit

// X(function, ISA, tile rows R, tile columns).
#if defined(SPIRALKIT_ARCH_x86)
#define SPIRALKIT_BF16_GEMM_KERNELS(X) X(spiralkit_bf16_gemm_ukernel_4x4v__avx512bf16, kAvx512Bf16, 4, 64)
#define SPIRALKIT_BF16_PACK_KERNELS(X) X(spiralkit_bf16_pack_ukernel__avx512bf16, kAvx512Bf16, 1, 32)
#define SPIRALKIT_BF16_SOFTMAX_KERNELS(X) X(spiralkit_bf16_softmax_ukernel__avx512bf16, kAvx512Bf16, 1, 16)
#else
#define SPIRALKIT_BF16_SOFTMAX_KERNELS(X)
#define SPIRALKIT_BF16_GEMM_KERNELS(X)
#define SPIRALKIT_BF16_PACK_KERNELS(X)
#endif

namespace spiralkit {
#define SPIRALKIT_DECLARE_BF16_GEMM(fn, isa, r, tile) \
  void fn(int64_t, int64_t, int64_t, const uint16_t*, int64_t, const uint16_t*, int64_t, float*, int64_t, const float*);
#define SPIRALKIT_DECLARE_BF16_PACK(fn, isa, r, tile) \
  void fn(int, const float*, int64_t, int64_t, int64_t, uint16_t*, int64_t);
SPIRALKIT_BF16_GEMM_KERNELS(SPIRALKIT_DECLARE_BF16_GEMM)
SPIRALKIT_BF16_PACK_KERNELS(SPIRALKIT_DECLARE_BF16_PACK)
#define SPIRALKIT_DECLARE_BF16_SOFTMAX(fn, isa, r, tile) \
  float fn(float*, int64_t, float, const float*, int64_t, uint16_t*);
SPIRALKIT_BF16_SOFTMAX_KERNELS(SPIRALKIT_DECLARE_BF16_SOFTMAX)
#undef SPIRALKIT_DECLARE_BF16_SOFTMAX
#undef SPIRALKIT_DECLARE_BF16_GEMM
#undef SPIRALKIT_DECLARE_BF16_PACK
}  // namespace spiralkit
