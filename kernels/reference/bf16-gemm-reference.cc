// The bf16 oracles: the pack layouts spelled out one element at a time, and the GEMM summed in
// double from the bf16 values (exact products), so a kernel row's error against it is its fp32
// accumulation alone. Portable: every CPU builds and tests these.
#include <algorithm>
#include <cmath>

#include "spiralkit_kernels/bf16.h"

void spiralkit::spiralkit_bf16_pack_ukernel__reference(int mode, const float* src, int64_t lds, int64_t rows,
                                                       int64_t cols, uint16_t* dst, int64_t ldd) {
  if (mode == static_cast<int>(Bf16Pack::kRows)) {
    const int64_t even = cols + (cols & 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < even; ++c) dst[r * ldd + c] = c < cols ? f32_to_bf16_bits(src[r * lds + c]) : 0;
    return;
  }
  const bool by_rows = mode == static_cast<int>(Bf16Pack::kPairsOfRows);
  const int64_t k = by_rows ? rows : cols, n = by_rows ? cols : rows;
  for (int64_t p = 0; p < (k + 1) / 2; ++p)
    for (int64_t j = 0; j < ldd; ++j)
      for (int64_t i = 0; i < 2; ++i) {
        const int64_t kk = 2 * p + i;
        const float v = kk < k && j < n ? (by_rows ? src[kk * lds + j] : src[j * lds + kk]) : 0.0f;
        dst[(p * ldd + j) * 2 + i] = f32_to_bf16_bits(v);
      }
}

void spiralkit::spiralkit_bf16_gemm_ukernel__reference(int64_t m, int64_t n, int64_t kp, const uint16_t* a,
                                                       int64_t lda, const uint16_t* b, int64_t ldb, float* c,
                                                       int64_t ldc, const float* row_scale) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < kp; ++p)
        for (int64_t h = 0; h < 2; ++h)
          acc += double(bf16_bits_to_f32(a[i * lda + 2 * p + h])) * bf16_bits_to_f32(b[(p * ldb + j) * 2 + h]);
      c[i * ldc + j] = static_cast<float>(row_scale ? acc * row_scale[i] : acc);
    }
}

float spiralkit::spiralkit_bf16_softmax_ukernel__reference(float* x, int64_t n, float scale, const float* mask,
                                                           int64_t mask_stride, uint16_t* y) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = x[j] * scale + (mask ? mask[j * mask_stride] : 0.0f);
    mx = std::max(mx, x[j]);
  }
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const float e = std::exp(x[j] - mx);
    y[j] = f32_to_bf16_bits(e);
    sum += e;
  }
  if (n & 1) y[n] = 0;
  return static_cast<float>(sum);
}
